#!/usr/bin/env bash
# linux.cgroupsPath as config-linux.md#cgroups-path says (root): an absolute path is used as given
# below each hierarchy's root, a relative one below ctbench/, none gives ctbench/<id>. The state
# records what create made and delete removes exactly that: a cgroup that existed before is kept
# (its processes are stopped). All paths here lie under a ctbench directory (the naming rule).
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
spec_bundle "$B"
with_path() { cp "$WORK/base.json" "$B/config.json"; edit_config "$B/config.json" "c['process']['args'] = ['/bin/sleep', '30']
c['linux']['cgroupsPath'] = '$1'"; }
mem=/sys/fs/cgroup/memory
pids_cg=/sys/fs/cgroup/pids
in_cgroup() { grep -qx "$2" "$1/cgroup.procs" 2>/dev/null; }
abs="ctbtest-abs-$$"; rel="ctbtest-rel-$$"; pre="ctbtest-pre-$$"
uses cg-abs cg-rel cg-pre cg-default
cleanup_dirs() { for h in /sys/fs/cgroup/*/; do rmdir "$h/ctbench/$abs/c" "$h/ctbench/$abs" "$h/ctbench/$rel" "$h/ctbench/$pre" 2>/dev/null; done; }
trap 'finish; cleanup_dirs' EXIT

# Absolute, two levels new.
with_path "/ctbench/$abs/c"
rt create --bundle "$B" cg-abs >/dev/null 2>&1 || fail "create with absolute cgroupsPath"
pid="$(rt state cg-abs | json_field pid)"
in_cgroup "$mem/ctbench/$abs/c" "$pid" && in_cgroup "$pids_cg/ctbench/$abs/c" "$pid" && ok "absolute path used as given below each root" || fail "init $pid not in $mem/ctbench/$abs/c"
grep -q "\"$mem/ctbench/$abs\"" "$ROOT/cg-abs/state.json" && ok "state records the created parent" || fail "state: $(grep -A12 cgroupCreated "$ROOT/cg-abs/state.json")"
rt delete --force cg-abs || fail "delete cg-abs"
[ ! -e "$mem/ctbench/$abs" ] && [ ! -e "$pids_cg/ctbench/$abs" ] && ok "delete removed both created levels" || fail "left: $(ls -d /sys/fs/cgroup/*/ctbench/$abs 2>/dev/null)"

# Relative: below ctbench/.
with_path "$rel"
rt create --bundle "$B" cg-rel >/dev/null 2>&1 || fail "create with relative cgroupsPath"
pid="$(rt state cg-rel | json_field pid)"
in_cgroup "$mem/ctbench/$rel" "$pid" && ok "relative path placed below ctbench/" || fail "init $pid not in $mem/ctbench/$rel"
rt delete --force cg-rel || fail "delete cg-rel"
[ -z "$(ls -d /sys/fs/cgroup/*/ctbench/$rel 2>/dev/null)" ] && ok "relative cgroup removed" || fail "relative left"

# Pre-existing in the memory hierarchy only: joined, kept on delete; the others are made and removed.
mkdir "$mem/ctbench" 2>/dev/null; mkdir "$mem/ctbench/$pre" || fail "mkdir pre-existing"
with_path "/ctbench/$pre"
rt create --bundle "$B" cg-pre >/dev/null 2>&1 || fail "create in a pre-existing cgroup"
pid="$(rt state cg-pre | json_field pid)"
in_cgroup "$mem/ctbench/$pre" "$pid" && ok "pre-existing cgroup joined" || fail "init not in pre-existing cgroup"
rt delete --force cg-pre || fail "delete cg-pre"
[ -d "$mem/ctbench/$pre" ] && ok "pre-existing cgroup kept" || fail "pre-existing cgroup removed"
[ ! -s "$mem/ctbench/$pre/cgroup.procs" ] && ok "its processes were stopped" || fail "processes left: $(cat "$mem/ctbench/$pre/cgroup.procs")"
[ ! -e "$pids_cg/ctbench/$pre" ] && ok "the cgroups create made are gone" || fail "created pids cgroup left"
rmdir "$mem/ctbench/$pre"

# Default: ctbench/<id>.
with_path ""
rt create --bundle "$B" cg-default >/dev/null 2>&1 || fail "create default"
pid="$(rt state cg-default | json_field pid)"
in_cgroup "$mem/ctbench/cg-default" "$pid" && ok "default ctbench/<id>" || fail "default path"
rt delete --force cg-default || fail "delete default"
[ ! -e "$mem/ctbench/cg-default" ] && ok "default removed" || fail "default left"

# Refused before anything is made.
with_path "/ctbench/../x"
out="$(rt create --bundle "$B" cg-bad 2>&1 </dev/null >/dev/null)" && fail "'..' accepted" || { grep -q '".." are not allowed' <<<"$out" && ok "'..' refused: $out" || fail "'..': $out"; }
[ "$fails" = 0 ]
