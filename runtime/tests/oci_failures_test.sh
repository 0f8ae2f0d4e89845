#!/usr/bin/env bash
# Every failure of the init is the caller's failure, and bad input leaves nothing behind (root):
# an error after the init said "ready" (capset refused, exec of a missing binary) fails create or
# start with step, object and errno and removes the container; `state` never calls a dead init
# "created"; a config nested 100,000 levels deep is refused; resource values the kernel refuses
# leave no cgroup directory; a 1-byte memory limit is reported as the kill it causes.
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
spec_bundle "$B"
reset_config() { cp "$WORK/base.json" "$B/config.json"; edit_config "$B/config.json" "c['process']['args'] = $1"; }
nothing_left() {  # nothing_left ID WHAT
  local left; left="$(cgroups_left "/$1\$")"
  [ ! -e "$ROOT/$1" ] && [ -z "$left" ] && ok "$2: nothing left" || fail "$2: left state=$(ls "$ROOT/$1" 2>/dev/null | tr '\n' ' ') cgroups=$left"
}
# Output to a file, not $(...): a created init holds the caller's stdout and stderr until it execs.
capture() { "$@" >"$WORK/out" 2>&1; rc=$?; out="$(cat "$WORK/out")"; }
uses f-caps f-exec f-run-d f-nest f-period f-cpus f-mem f-dead f-start-exec

# capset refused after "ready": effective outside permitted. The error names the step and errno.
reset_config '["/bin/true"]'
edit_config "$B/config.json" "c['process']['capabilities'] = {'bounding': ['CAP_KILL'], 'effective': ['CAP_KILL', 'CAP_SYS_ADMIN'], 'permitted': ['CAP_KILL']}"
capture sh -c "\"$RT\" --root $ROOT create --bundle $B f-caps && \"$RT\" --root $ROOT start f-caps"
[ $rc != 0 ] && grep -q "capset.*EPERM" <<<"$out" && ok "capset EPERM fails create/start with step and errno" || fail "capset: rc=$rc $out"
st="$(rt state f-caps 2>&1)"
grep -q "does not exist" <<<"$st" && ok "the failed container is gone" || fail "state after capset failure: $st"
nothing_left f-caps "capset failure"

# A missing binary: create fails (the path is resolved before "ready", as runc does).
reset_config '["/no/such/binary"]'
capture rt create --bundle "$B" f-exec
[ $rc != 0 ] && grep -q "/no/such/binary.*ENOENT" <<<"$out" && ok "missing binary fails create naming it" || fail "missing binary: rc=$rc $out"
nothing_left f-exec "missing binary (create)"
capture rt run -d --bundle "$B" f-run-d
[ $rc != 0 ] && grep -q "ENOENT" <<<"$out" && ok "run -d of a missing binary fails" || fail "run -d: rc=$rc $out"
nothing_left f-run-d "run -d missing binary"

# A binary that exists but cannot be executed: found before "ready", refused by execve after start.
reset_config '["/etc/notexec"]'
mkdir -p "$B/rootfs/etc"; printf 'garbage\n' > "$B/rootfs/etc/notexec"; chmod 755 "$B/rootfs/etc/notexec"
capture sh -c "\"$RT\" --root $ROOT create --bundle $B f-start-exec && \"$RT\" --root $ROOT start f-start-exec"
[ $rc != 0 ] && grep -q "exec /etc/notexec: ENOEXEC" <<<"$out" && ok "execve failure after start fails start with errno" || fail "exec after start: rc=$rc $out"
nothing_left f-start-exec "execve failure"
rm -f "$B/rootfs/etc/notexec"

# A dead init is never "created".
reset_config '["/bin/sleep", "30"]'
rt create --bundle "$B" f-dead >/dev/null 2>&1 || fail "create f-dead"
pid="$(rt state f-dead | json_field pid)"
kill -9 "$pid"
for _ in $(seq 50); do [ "$(status_of f-dead)" = stopped ] && break; sleep 0.1; done
[ "$(status_of f-dead)" = stopped ] && ok "a killed created init is stopped" || fail "state of killed init: $(status_of f-dead)"
capture rt start f-dead; [ $rc = 0 ] && fail "start of a dead init accepted" || ok "start of a dead init refused: $out"
rt delete f-dead && ok "delete of the stopped container" || fail "delete f-dead"
nothing_left f-dead "dead init"

# 100,000 levels of nesting: refused by name, no crash.
reset_config '["/bin/true"]'
/usr/bin/python3 - "$B/config.json" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().rstrip()
assert s.endswith("}")
open(p, "w").write(s[:-1] + ', "deep": ' + "[" * 100000 + "]" * 100000 + "}")
PY
capture rt create --bundle "$B" f-nest
[ $rc = 1 ] && grep -q "config.json.*nest" <<<"$out" && ok "deeply nested config refused: $out" || fail "nested: rc=$rc $(head -c 300 <<<"$out")"
nothing_left f-nest "nested config"

# Values the kernel refuses: the error names the field, no cgroup directory stays.
reset_config '["/bin/true"]'
edit_config "$B/config.json" "c['linux'].setdefault('resources', {})['cpu'] = {'period': 0, 'quota': 1000}"
capture rt create --bundle "$B" f-period
[ $rc = 1 ] && grep -q "linux.resources.cpu.period" <<<"$out" && ok "cpu period 0 refused: $out" || fail "period 0: rc=$rc $out"
nothing_left f-period "cpu period 0"
reset_config '["/bin/true"]'
edit_config "$B/config.json" "c['linux'].setdefault('resources', {})['cpu'] = {'cpus': 'garbage'}"
capture rt create --bundle "$B" f-cpus
[ $rc = 1 ] && grep -q "linux.resources.cpu.cpus" <<<"$out" && ok "garbage cpuset.cpus refused: $out" || fail "cpus: rc=$rc $out"
nothing_left f-cpus "garbage cpuset.cpus"

# A 1-byte memory limit: the init is killed while it sets up; the error says so and names the limit.
reset_config '["/bin/true"]'
edit_config "$B/config.json" "c['linux'].setdefault('resources', {})['memory'] = {'limit': 1}"
capture rt create --bundle "$B" f-mem
[ $rc = 1 ] && grep -q "SIGKILL" <<<"$out" && grep -q "memory" <<<"$out" && ok "1-byte memory limit explained: $out" || fail "memory 1: rc=$rc $out"
nothing_left f-mem "1-byte memory limit"
[ "$fails" = 0 ]
