#!/usr/bin/env bash
# SCMP_ACT_NOTIFY with linux.seccomp.listenerPath and listenerMetadata (config-linux.md#seccomp;
# root). A small agent (runtime/tests/seccomp_agent.py) receives the container process state with
# the listener fd over SCM_RIGHTS during `create`, and answers the container's mkdir calls: the
# first with EXDEV, the second with success without the kernel running it. What the container
# observes (mkdir failing with "Invalid cross-device link", then "succeeding" with no directory
# made) can only come from the agent. An exec'd process's listener goes to the agent too.
# Refusals: no listenerPath, an agent that is not there, NOTIFY as the default action; nothing is
# left behind.
set -u
. "$(dirname "$0")/oci_lib.sh"
AGENT="$(dirname "$0")/seccomp_agent.py"
SOCK="$WORK/agent.sock"
AGENT_PID=""
stop_agent() {
  [ -n "$AGENT_PID" ] && { kill "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; }
  AGENT_PID=""
  rm -f "$SOCK"
}
trap 'stop_agent; finish' EXIT
# start_agent STATE_OUT ANSWER...: the agent listening on $SOCK (bounded wait for "ready").
start_agent() {
  local out="$1"; shift
  rm -f "$WORK/agent.log" "$SOCK"  # a previous agent's "ready" must not count
  /usr/bin/python3 "$AGENT" "$SOCK" "$out" "$@" >"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 100); do [ -S "$SOCK" ] && grep -q ready "$WORK/agent.log" 2>/dev/null && return; sleep 0.05; done
  fail "agent did not start: $(cat "$WORK/agent.log")"
}
wait_agent() {  # the agent exits after its last answer
  for _ in $(seq 200); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.05; done
  wait "$AGENT_PID" 2>/dev/null && ok "agent answered and exited" || fail "agent: $(cat "$WORK/agent.log")"
  AGENT_PID=""
  rm -f "$SOCK"
}
wait_stopped() { for _ in $(seq 200); do [ "$(status_of "$1")" = stopped ] && return; sleep 0.05; done; }
left_behind() { [ -e "$ROOT/$1" ] || [ -n "$(cgroups_left "/$1\$")" ]; }

B="$WORK/b"
spec_bundle "$B"
chmod 1777 "$B/rootfs/tmp"
NOTIFY="{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['mkdir', 'mkdirat'], 'action': 'SCMP_ACT_NOTIFY'}],
         'listenerPath': '$SOCK', 'listenerMetadata': 'ctbench-test=1'}"
set_config() {  # ARGS-PYTHON-LIST [SECCOMP-PYTHON]
  cp "$WORK/base.json" "$B/config.json"
  edit_config "$B/config.json" "c['process']['args'] = $1
c['process']['terminal'] = False
c['linux']['seccomp'] = ${2:-$NOTIFY}"
}

# 1. The init's listener reaches the agent during create; the agent's answers are what mkdir does.
set_config "['/bin/sh', '-c', 'mkdir /tmp/a 2>/tmp/err; echo a=\$? > /tmp/out; mkdir /tmp/b; echo b=\$? >> /tmp/out; [ -d /tmp/b ] && echo b-made >> /tmp/out || echo b-not-made >> /tmp/out']"
start_agent "$WORK/state.json" errno:EXDEV ok
uses sn
rt create --bundle "$B" sn 2>"$WORK/err" && ok "create with a seccomp agent" || fail "create: $(cat "$WORK/err")"
pid="$(rt state sn | json_field pid)"
/usr/bin/python3 - "$WORK/state.json" "$pid" <<'PY' && ok "agent got the container process state and one fd" || fail "state: $(cat "$WORK/state.json")"
import json, sys
d = json.load(open(sys.argv[1])); s = d["state"]; pid = int(sys.argv[2])
assert d["fds_received"] == 1, d
assert s["fds"] == ["seccompFd"] and s["pid"] == pid and s["metadata"] == "ctbench-test=1", s
assert s["ociVersion"] and s["state"]["id"] == "sn" and s["state"]["pid"] == pid, s
assert s["state"]["status"] == "creating", s
PY
rt start sn 2>"$WORK/err" || fail "start: $(cat "$WORK/err")"
wait_stopped sn
wait_agent
out="$(tr '\n' ' ' < "$B/rootfs/tmp/out" 2>/dev/null)"
[ "$out" = "a=1 b=0 b-not-made " ] && ok "mkdir failed, then 'succeeded' without a directory: the agent's answers ($out)" || fail "container saw: [$out]"
grep -q "cross-device" "$B/rootfs/tmp/err" && ok "the first mkdir failed with EXDEV: $(cat "$B/rootfs/tmp/err")" || fail "err: $(cat "$B/rootfs/tmp/err" 2>&1)"
# x86_64: mkdir is 83, mkdirat 258 (the rule names both).
/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a) == 2 and all(n["nr"] in (83, 258) for n in a), a' \
  "$WORK/state.json.answers" && ok "the two notifications were the mkdir calls" || fail "answers: $(cat "$WORK/state.json.answers" 2>&1)"
rt delete sn 2>/dev/null || rt delete --force sn
left_behind sn && fail "sn: state or cgroups left" || ok "sn: nothing left"

# 2. exec: the exec'd process's own listener goes to the agent as well.
rm -f "$B/rootfs/tmp/out"
set_config "['/bin/sleep', '60']"
start_agent "$WORK/state1.json"  # takes the init's listener, answers nothing
uses se
rt run -d --bundle "$B" se >/dev/null 2>"$WORK/err" || fail "run -d: $(cat "$WORK/err")"
wait_agent
start_agent "$WORK/state2.json" errno:EXDEV
got="$(rt exec se /bin/sh -c 'mkdir /tmp/c 2>&1; echo c=$?' 2>"$WORK/err")"
wait_agent
echo "$got" | grep -q "cross-device" && echo "$got" | grep -q "c=1" && ok "exec'd process: mkdir answered by the agent" || fail "exec saw: [$got] $(cat "$WORK/err")"
epid="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["pid"])' "$WORK/state2.json" 2>/dev/null)"
[ -n "$epid" ] && [ "$epid" != "$(rt state se | json_field pid)" ] && ok "exec's process state names the exec'd process ($epid)" || fail "exec state: $(cat "$WORK/state2.json" 2>&1)"
rt delete --force se

# 3. Refusals.
refused() {  # ID SECCOMP-PYTHON EXPECTED
  set_config "['/bin/true']" "$2"
  uses "$1"
  if rt create --bundle "$B" "$1" >/dev/null 2>"$WORK/err"; then fail "$1: create succeeded"; return; fi
  grep -q -- "$3" "$WORK/err" && ok "$1 refused: $(cat "$WORK/err")" || fail "$1: $(cat "$WORK/err") (want $3)"
  left_behind "$1" && fail "$1: state or cgroups left" || true
}
RULE="[{'names': ['mkdir'], 'action': 'SCMP_ACT_NOTIFY'}]"
refused nopath "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': $RULE}" "linux.seccomp.listenerPath: required"
refused noagent "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': $RULE, 'listenerPath': '$WORK/nobody.sock'}" \
  "connect linux.seccomp.listenerPath $WORK/nobody.sock: ENOENT"
refused notifyall "{'defaultAction': 'SCMP_ACT_NOTIFY', 'listenerPath': '$SOCK'}" \
  "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"

# 4. features lists the action.
"$RT" features | /usr/bin/python3 -c 'import json,sys; assert "SCMP_ACT_NOTIFY" in json.load(sys.stdin)["linux"]["seccomp"]["actions"]' \
  && ok "features: SCMP_ACT_NOTIFY" || fail "features lacks SCMP_ACT_NOTIFY"
[ "$fails" = 0 ]
