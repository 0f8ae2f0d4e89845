#!/usr/bin/env bash
# Rootless mode (issue 13 item 7; root, to create the user): a real unprivileged user
# (ctbrootless<pid>, with a subordinate id range in /etc/subuid and /etc/subgid) runs
# ctbench-runtime through runuser. Proven from the host and from inside:
# - `runc spec --rootless` runs unchanged: create/state/start/kill/delete and `run`; the init is
#   the user's uid on the host, uid 0 inside (/proc/self/uid_map "0 UID 1"), setgroups "deny";
#   a file it makes on a bind-mounted host dir belongs to the user; state under $XDG_RUNTIME_DIR;
# - subordinate ids through newuidmap/newgidmap: two map lines, setgroups "allow", a file chowned
#   to uid 1 inside belongs to the first subordinate uid on the host;
# - cgroups: not delegated -> one warning line and no cgroup; a delegated v2 subtree -> the
#   container's cgroup below it (ps, kill --all through it), removed by delete;
# - refused, naming the field/option, nothing left: no user namespace, root mapped to another
#   uid, limits without a delegated cgroup, --network bridge, --publish;
# - the user, its id ranges, its files and cgroups are removed afterwards (a trap, on failure too).
set -u
. "$(dirname "$0")/oci_lib.sh"
command -v runuser >/dev/null && command -v useradd >/dev/null || { echo "runuser/useradd missing"; exit 1; }
for t in newuidmap newgidmap runc; do command -v "$t" >/dev/null || { fail "$t is missing (scripts/setup.sh installs uidmap and runc)"; exit 1; }; done

U="ctbrootless$$"
SUB=$((300000 + ($$ % 2000) * 65536))  # a subordinate range of this user's own
X="$WORK/xdg"                             # its XDG_RUNTIME_DIR
DELEG=""                                  # a v2 subtree delegated to it, when made
cleanup() {
  local pid
  if id "$U" >/dev/null 2>&1; then
    for id in rl-life rl-run rl-sub rl-deleg rl-net rl-bad; do as_user "$RT" delete --force "$id" >/dev/null 2>&1; done
    # Whatever the user still runs was started by this test: stopped by pid.
    for pid in $(ps -o pid= -u "$(id -u "$U")" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    userdel "$U" 2>/dev/null
  fi
  sed -i "/^$U:/d" /etc/subuid /etc/subgid 2>/dev/null
  [ -n "$DELEG" ] && [ -d "$DELEG" ] && { find "$DELEG" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null; rmdir "$DELEG"; }
  finish
}
trap cleanup EXIT
as_user() { runuser -u "$U" -- env XDG_RUNTIME_DIR="$X" PATH="$PATH" "$@"; }

useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$U" || { fail "useradd $U"; exit 1; }
UID_="$(id -u "$U")"; GID_="$(id -g "$U")"
echo "$U:$SUB:65536" >> /etc/subuid
echo "$U:$SUB:65536" >> /etc/subgid
chmod 755 "$WORK"
install -d -o "$U" -g "$GID_" -m 700 "$X"
install -d -o "$U" -g "$GID_" -m 755 "$WORK/shared"
B="$WORK/b"
make_bundle "$B"
chmod 1777 "$B/rootfs/tmp"
chown -R "$U:$GID_" "$B"
(cd "$B" && runuser -u "$U" -- runc spec --rootless) || fail "runc spec --rootless as $U"
cp "$B/config.json" "$WORK/rootless.json"
reset_config() { cp "$WORK/rootless.json" "$B/config.json"; chown "$U" "$B/config.json"; }
grep -q "\"hostID\": $UID_" "$B/config.json" && ok "runc spec --rootless maps root to uid $UID_" || fail "runc spec --rootless mapping: $(grep -A3 uidMappings "$B/config.json")"

# 1. The full lifecycle with runc's rootless config; only the process changes (its `sh` would
#    read an empty stdin and exit at once). Section 2 runs the config unchanged.
edit_config "$B/config.json" "c['process']['args'] = ['sleep', '60']"
(cd "$B" && as_user "$RT" create rl-life </dev/null 2>"$WORK/err") && ok "create as $U" || fail "create: $(cat "$WORK/err")"
grep -c "no cgroup" "$WORK/err" | grep -qx 1 && ok "cgroups not delegated: one warning line" || fail "cgroup warning: $(cat "$WORK/err")"
[ -f "$X/ctbench-runtime/rl-life/state.json" ] && ok "state under \$XDG_RUNTIME_DIR/ctbench-runtime" || fail "state not under $X: $(ls -R "$X" 2>&1)"
[ "$(stat -c %U "$X/ctbench-runtime/rl-life/state.json" 2>/dev/null)" = "$U" ] && ok "state belongs to the user" || fail "state owner"
st="$(as_user "$RT" state rl-life)"
json_field status <<<"$st" >/dev/null 2>&1 || { fail "no state: $st"; exit 1; }
[ "$(json_field status <<<"$st")" = created ] && ok "state created" || fail "state: $st"
pid="$(json_field pid <<<"$st")"
[ "$(awk '/^Uid:/{print $2}' /proc/"$pid"/status)" = "$UID_" ] && ok "the init runs as host uid $UID_" || fail "init uid: $(grep Uid /proc/"$pid"/status)"
as_user "$RT" start rl-life 2>"$WORK/err" && ok "start" || fail "start: $(cat "$WORK/err")"
[ "$(as_user "$RT" state rl-life | json_field status)" = running ] && ok "state running" || fail "state after start"
as_user "$RT" kill rl-life KILL 2>"$WORK/err" && ok "kill" || fail "kill: $(cat "$WORK/err")"
for _ in $(seq 50); do [ "$(as_user "$RT" state rl-life 2>/dev/null | json_field status 2>/dev/null)" = stopped ] && break; sleep 0.1; done
[ "$(as_user "$RT" state rl-life | json_field status)" = stopped ] && ok "state stopped" || fail "state after kill"
as_user "$RT" delete rl-life 2>"$WORK/err" && ok "delete" || fail "delete: $(cat "$WORK/err")"
[ ! -e "$X/ctbench-runtime" ] && ok "state root gone with the last container" || fail "left: $(ls -R "$X")"

# 2. `run` of runc's rootless config, plus a bind-mounted host dir: what the process sees inside.
reset_config
edit_config "$B/config.json" "c['mounts'].append({'destination': '/shared', 'type': 'bind', 'source': '$WORK/shared', 'options': ['rbind', 'rw']})"
out="$(cd "$B" && printf 'id -u\ncat /proc/self/uid_map\ncat /proc/self/setgroups\ntouch /shared/made-by-root\n' | as_user "$RT" run rl-run 2>"$WORK/err")"; rc=$?
[ $rc = 0 ] && ok "run (rc 0)" || fail "run: rc=$rc $(cat "$WORK/err")"
[ "$(head -1 <<<"$out")" = 0 ] && ok "uid 0 inside" || fail "inside: $out"
grep -Eq "^ *0 +$UID_ +1$" <<<"$out" && ok "uid_map: 0 -> $UID_ (1)" || fail "uid_map: $out"
grep -qx deny <<<"$out" && ok "setgroups deny (gid_map written without newgidmap)" || fail "setgroups: $out"
[ "$(stat -c %u "$WORK/shared/made-by-root" 2>/dev/null)" = "$UID_" ] && ok "a file root makes on a host bind mount belongs to $U" || fail "owner: $(stat -c %u "$WORK/shared/made-by-root" 2>&1)"

# 2b. `ctbench-runtime spec --rootless` (runc's transformation of its own default config), unchanged.
B2="$WORK/b2"
make_bundle "$B2"
chmod 1777 "$B2/rootfs/tmp"
chown -R "$U:$GID_" "$B2"
(cd "$B2" && as_user "$RT" spec --rootless) && ok "spec --rootless" || fail "spec --rootless"
out="$(cd "$B2" && printf 'id -u\ncat /proc/self/uid_map\n' | as_user "$RT" run rl-run 2>"$WORK/err")"; rc=$?
[ $rc = 0 ] && [ "$(head -1 <<<"$out")" = 0 ] && grep -Eq "^ *0 +$UID_ +1$" <<<"$out" && ok "its config runs unchanged: root inside, 0 -> $UID_" \
  || fail "spec --rootless config: rc=$rc $out $(cat "$WORK/err")"

# 3. Subordinate ids through newuidmap/newgidmap.
edit_config "$B/config.json" "c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': $UID_, 'size': 1}, {'containerID': 1, 'hostID': $SUB, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': $GID_, 'size': 1}, {'containerID': 1, 'hostID': $SUB, 'size': 65536}]
for k in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][k].append('CAP_CHOWN')"
out="$(cd "$B" && printf 'cat /proc/self/uid_map\ncat /proc/self/setgroups\ntouch /shared/sub\nchown 1:1 /shared/sub\n' | as_user "$RT" run rl-sub 2>"$WORK/err")"; rc=$?
[ $rc = 0 ] && ok "run with subordinate ids" || fail "run with subordinate ids: rc=$rc $(cat "$WORK/err")"
grep -Eq "^ *1 +$SUB +65536$" <<<"$out" && ok "uid_map: 1 -> $SUB (65536), by newuidmap" || fail "uid_map: $out"
grep -qx allow <<<"$out" && ok "setgroups allow (newgidmap)" || fail "setgroups: $out"
[ "$(stat -c %u:%g "$WORK/shared/sub" 2>/dev/null)" = "$SUB:$SUB" ] && ok "uid/gid 1 inside is $SUB on the host" || fail "owner of sub: $(stat -c %u:%g "$WORK/shared/sub" 2>&1)"
sed -i "/^$U:/d" /etc/subuid
(cd "$B" && as_user "$RT" run rl-sub </dev/null >/dev/null 2>"$WORK/err") && fail "run without a subuid range succeeded" \
  || { grep -q "newuidmap linux.uidMappings" "$WORK/err" && ok "no subuid range: newuidmap's refusal, naming linux.uidMappings" || fail "no subuid range: $(cat "$WORK/err")"; }
echo "$U:$SUB:65536" >> /etc/subuid

# 4. Refused, named, nothing left.
refused() {  # refused WHAT EXPECTED-TEXT CMD...
  local what="$1" text="$2"; shift 2
  if (cd "$B" && as_user "$@" </dev/null >/dev/null 2>"$WORK/err"); then fail "$what: accepted"; return; fi
  grep -qF -- "$text" "$WORK/err" && ok "$what: refused ($text)" || fail "$what: $(cat "$WORK/err")"
  [ ! -e "$X/ctbench-runtime/rl-bad" ] || fail "$what: state left"
}
reset_config
edit_config "$B/config.json" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'user']"
refused "no user namespace" "linux.namespaces" "$RT" run rl-bad
reset_config
edit_config "$B/config.json" "c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': $SUB, 'size': 1}]"
refused "root mapped to another uid" "linux.uidMappings" "$RT" run rl-bad
reset_config
edit_config "$B/config.json" "c['linux']['resources'] = {'memory': {'limit': 67108864}}"
refused "a memory limit without a delegated cgroup" "linux.resources.memory" "$RT" run rl-bad
reset_config
refused "--network bridge" "--network bridge" "$RT" run --network bridge rl-bad
refused "--publish" "--publish 8080:80" "$RT" run -p 8080:80 rl-bad
[ -z "$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep '^ctb')" ] && ok "no link made" || fail "links: $(ip -o link | grep ctb)"

# 5. --network none (a netns of its own, loopback up) and host (the host's).
host_net="$(readlink /proc/self/ns/net)"
out="$(cd "$B" && printf 'readlink /proc/self/ns/net\ncat /sys/class/net/lo/operstate\n' | as_user "$RT" run --network none rl-net 2>"$WORK/err")"
[ -n "$out" ] && [ "$(head -1 <<<"$out")" != "$host_net" ] && grep -qx unknown <<<"$out" && ok "--network none: own netns, lo up" || fail "--network none: $out $(cat "$WORK/err")"
out="$(cd "$B" && printf 'readlink /proc/self/ns/net\n' | as_user "$RT" run --network host rl-net 2>"$WORK/err")"
[ "$(head -1 <<<"$out")" = "$host_net" ] && ok "--network host: the host's netns" || fail "--network host: $out $(cat "$WORK/err")"

# 6. A delegated v2 subtree (as systemd's Delegate=yes gives a user): the container's cgroup goes below it.
V2="$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)"
if [ -n "$V2" ]; then
  DELEG="$V2/ctbench/rootless-$$"
  mkdir -p "$DELEG"
  chown "$U" "$DELEG" "$DELEG/cgroup.procs" "$DELEG/cgroup.subtree_control" "$DELEG/cgroup.threads"
  reset_config
  edit_config "$B/config.json" "c['process']['args'] = ['sleep', '60']; c['process']['terminal'] = False"
  (cd "$B" && bash -c "echo \$\$ > '$DELEG/cgroup.procs' && exec runuser -u '$U' -- env XDG_RUNTIME_DIR='$X' '$RT' run -d rl-deleg" </dev/null 2>"$WORK/err") \
    && ok "run -d in a delegated v2 subtree" || fail "delegated run: $(cat "$WORK/err")"
  grep -q "no cgroup" "$WORK/err" && fail "warned although delegated: $(cat "$WORK/err")"
  pid="$(as_user "$RT" state rl-deleg | json_field pid)"
  grep -qx "$pid" "$DELEG/ctbench/rl-deleg/cgroup.procs" 2>/dev/null && ok "the init sits in $DELEG/ctbench/rl-deleg" || fail "cgroup: $(cat /proc/"$pid"/cgroup 2>&1)"
  [ "$(as_user "$RT" ps -f json rl-deleg)" = "[$pid]" ] && ok "ps through the cgroup" || fail "ps: $(as_user "$RT" ps -f json rl-deleg 2>&1)"
  as_user "$RT" kill --all rl-deleg KILL && ok "kill --all through the cgroup" || fail "kill --all"
  as_user "$RT" delete --force rl-deleg 2>"$WORK/err" && ok "delete" || fail "delete: $(cat "$WORK/err")"
  [ ! -e "$DELEG/ctbench/rl-deleg" ] && ok "its cgroup removed" || fail "cgroup left: $(find "$DELEG" -type d)"
fi

# Nothing of the user's left in its runtime dir.
[ -z "$(ls -A "$X")" ] && ok "nothing left under \$XDG_RUNTIME_DIR" || fail "left: $(ls -A "$X")"
[ "$fails" = 0 ]
