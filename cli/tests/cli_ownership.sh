#!/usr/bin/env bash
# The suite does not destroy what it did not create (issue 13): a user's own ctbench-runtime
# containers (one running under the default --root, one on a user network with a published
# port), network and volume survive `ctbench doctor --cleanup` and a `ctbench run`; leftovers made
# under a ctbench run's ownership marker (container, network, an endpoint on the default bridge,
# volume) are removed; `doctor --cleanup --all` removes the users' objects too.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
RT="$(readlink -f "$CTBENCH_RUNTIME")"
unset CTBENCH_RUN_OWNER
tmp="$(mktemp -d /tmp/ctbench-ownership.XXXXXX)"
tag="$$"
UC="ctbuser-$tag"; UN="ctbusern-$tag"; NET="ctbownu-$tag"; VOL="/run/ctbench/volumes/ctbownvol-$tag"
RC="ctbrun-$tag"; RB="ctbrunb-$tag"; RNET="ctbownr-$tag"; RVOL="/run/ctbench/volumes/ctbownrvol-$tag"
MARK="ctbench run 1 1"  # what a (long dead) ctbench run recorded
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
finish() {
  local id
  for id in "$UC" "$UN" "$RC" "$RB"; do "$RT" delete --force "$id" >/dev/null 2>&1; done
  for n in "$NET" "$RNET"; do "$RT" network rm "$n" >/dev/null 2>&1; done
  rm -rf "$VOL" "$RVOL" "$tmp"
  rmdir /run/ctbench/volumes 2>/dev/null
}
trap finish EXIT
trap 'exit 143' TERM INT

# Another run (or cleanup) holds the run lock: let it finish first (bounded).
command -v flock >/dev/null 2>&1 && flock -w 300 /run/ctbench.lock true
# ctb OUT ARGS...: ctbench, tried again (bounded) while another run or cleanup holds the lock.
ctb() {
  local out="$1" rc=2; shift
  for _ in $(seq 20); do
    "$CTBENCH" "$@" >"$out" 2>&1; rc=$?
    grep -q "another ctbench run or cleanup is in progress" "$out" || return $rc
    flock -w 300 /run/ctbench.lock true
  done
  return $rc
}

bb="$(command -v busybox)" || { echo "busybox is missing"; exit 1; }
mkdir -p "$tmp/b/rootfs/bin" "$tmp/b/rootfs/proc" "$tmp/b/rootfs/dev" "$tmp/b/rootfs/sys" "$tmp/b/rootfs/tmp" "$tmp/b/rootfs/etc"
cp "$bb" "$tmp/b/rootfs/bin/busybox"
for a in sleep sh; do ln -sf busybox "$tmp/b/rootfs/bin/$a"; done
(cd "$tmp/b" && "$RT" spec) || { echo "spec failed"; exit 1; }
/usr/bin/python3 - "$tmp/b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "600"]
json.dump(c, open(sys.argv[1], "w"))
PY

status_of() { "$RT" state "$1" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
pid_of() { "$RT" state "$1" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null; }
alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)"; [ -n "$st" ] && [ "${st:0:1}" != Z ]; }
cgroup_of() { find /sys/fs/cgroup -maxdepth 3 -type d -path "*/ctbench/$1" 2>/dev/null | head -1; }
network_exists() { "$RT" network ls -f json 2>/dev/null | grep -q "\"$1\""; }
link_of() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host_link"])' "/run/ctbench/networks/endpoints/$1.json" 2>/dev/null; }

make_users() {
  "$RT" run -d -b "$tmp/b" "$UC" >"$tmp/uc.out" 2>&1 || { fail "user container: $(cat "$tmp/uc.out")"; return 1; }
  "$RT" network create "$NET" >/dev/null 2>&1 || { fail "user network"; return 1; }
  "$RT" run -d --network "$NET" -p 127.0.0.1::8080 -b "$tmp/b" "$UN" >"$tmp/un.out" 2>&1 ||
    { fail "user container on $NET: $(cat "$tmp/un.out")"; return 1; }
  mkdir -p "$VOL/_data" && touch "$VOL/lock" "$VOL/_data/keep-me"  # a volume's layout, no owner
}
make_run_leftovers() {
  CTBENCH_RUN_OWNER="$MARK" "$RT" run -d -b "$tmp/b" "$RC" >"$tmp/rc.out" 2>&1 || { fail "marked container: $(cat "$tmp/rc.out")"; return 1; }
  CTBENCH_RUN_OWNER="$MARK" "$RT" network create "$RNET" >/dev/null 2>&1 || { fail "marked network"; return 1; }
  CTBENCH_RUN_OWNER="$MARK" "$RT" run -d --network bridge -b "$tmp/b" "$RB" >"$tmp/rb.out" 2>&1 ||
    { fail "marked container on the default bridge: $(cat "$tmp/rb.out")"; return 1; }
  mkdir -p "$RVOL/_data" && touch "$RVOL/lock" && echo "$MARK" >"$RVOL/ctbenchOwner"
}

users_intact() {  # $1: after what
  local p; p="$(pid_of "$UC")"
  check "$1: user container $UC still running" [ "$(status_of "$UC")" = running ]
  check "$1: its init (pid $p) alive" alive "${p:-0}"
  check "$1: its cgroup kept" [ -n "$(cgroup_of "$UC")" ]
  check "$1: user container $UN on $NET still running" [ "$(status_of "$UN")" = running ]
  check "$1: user network $NET kept" network_exists "$NET"
  local link; link="$(link_of "$UN")"
  check "$1: $UN's veth $link kept" sh -c "ip link show '${link:-none}' >/dev/null 2>&1"
  check "$1: $UN's published port kept (port and nft rule)" \
    sh -c "'$RT' port '$UN' 8080/tcp | grep -q 127.0.0.1: && nft list table inet ctbench | grep -q 'dport'"
  check "$1: user volume kept" [ -f "$VOL/_data/keep-me" ]
}
run_leftovers_gone() {  # $1: after what, $2: pid of the marked container's init, $3: its veth
  check "$1: marked container's init killed" sh -c "! kill -0 $2 2>/dev/null || [ \"\$(ps -o stat= -p $2)\" = Z ]"
  check "$1: marked container's state removed" [ ! -e "/run/ctbench/runtime/$RC" ]
  check "$1: marked container's cgroup removed" [ -z "$(cgroup_of "$RC")" ]
  check "$1: marked network removed" sh -c "! '$RT' network ls -f json | grep -q '\"$RNET\"'"
  check "$1: marked endpoint on the default bridge removed" [ ! -e "/run/ctbench/networks/endpoints/$RB.json" ]
  check "$1: its veth $3 removed" sh -c "! ip link show '$3' >/dev/null 2>&1"
  check "$1: marked volume removed" [ ! -e "$RVOL" ]
}

make_users || exit 1
make_run_leftovers || exit 1
rc_pid="$(pid_of "$RC")"; rb_link="$(link_of "$RB")"
check "the marked container records its owner" grep -q "\"ctbenchOwner\":\"$MARK\"" "/run/ctbench/runtime/$RC/state.json"
check "the user container records none" sh -c "! grep -q ctbenchOwner /run/ctbench/runtime/$UC/state.json"

ctb "$tmp/cleanup.out" doctor --cleanup
echo "     doctor --cleanup said:"; sed 's/^/       /' "$tmp/cleanup.out"
users_intact "doctor --cleanup"
run_leftovers_gone "doctor --cleanup" "$rc_pid" "$rb_link"
check "doctor --cleanup lists the user's container as kept" grep -q "^kept .*container $UC" "$tmp/cleanup.out"

# A ctbench run cleans an interrupted run's leftovers at its start, and sweeps its own, but
# leaves the users' objects.
make_run_leftovers || exit 1
rc_pid="$(pid_of "$RC")"; rb_link="$(link_of "$RB")"
ctb "$tmp/run.out" run --suite ns --filter '^ns\.uts\.hostname_isolated$' --quiet
rc=$?
check "ctbench run of one case passed (exit $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$tmp/run.out"
users_intact "ctbench run"
run_leftovers_gone "ctbench run" "$rc_pid" "$rb_link"
check "ctbench run did not call the user's container a leftover" sh -c "! grep -q '$UC\|$UN' '$tmp/run.out'"

# --all: everything by the naming rules, users' objects too, and it says so.
uc_pid="$(pid_of "$UC")"; un_link="$(link_of "$UN")"
ctb "$tmp/all.out" doctor --cleanup --all
check "--all says it removes users' objects" grep -q "including users' own" "$tmp/all.out"
check "--all: user container's init killed" sh -c "! kill -0 $uc_pid 2>/dev/null || [ \"\$(ps -o stat= -p $uc_pid)\" = Z ]"
check "--all: user container's state removed" [ ! -e "/run/ctbench/runtime/$UC" ]
check "--all: user container's cgroup removed" [ -z "$(cgroup_of "$UC")" ]
check "--all: user network removed" sh -c "! '$RT' network ls -f json 2>/dev/null | grep -q '\"$NET\"'"
check "--all: user veth removed" sh -c "! ip link show '$un_link' >/dev/null 2>&1"
check "--all: user volume removed" [ ! -e "$VOL" ]
check "--all: nft table ctbench removed" sh -c "! nft list table inet ctbench >/dev/null 2>&1"

[ "$fails" = 0 ]
