#!/usr/bin/env bash
# The OCI state machine as runtime.md#operations says it, through both binaries (create, start,
# state, kill, delete in the static front end; pause and resume in the full CLI):
#   start  of a container that is not created: error, no effect;
#   kill   of a container that is neither created nor running (paused, stopped): error, no effect;
#   delete of a container that is not stopped (created too: runc deletes that one): error, no
#          effect; --force kills first; delete of one that does not exist: error (--force: fine);
#   create of an id that exists: error, the existing container untouched.
set -u
. "$(dirname "$0")/oci_lib.sh"

b="$WORK/b"
spec_bundle "$b"
edit_config "$b/config.json" 'c["process"]["terminal"] = False; c["process"]["args"] = ["sleep", "600"]'
alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)"; [ -n "$st" ] && [ "${st:0:1}" != Z ]; }
pid_of() { rt state "$1" 2>/dev/null | json_field pid; }
# refused WHAT PATTERN CMD...: CMD fails and its stderr matches PATTERN.
refused() {
  local what="$1" pattern="$2"; shift 2
  if "$@" 2>"$WORK/err"; then fail "$what: accepted"; return; fi
  grep -qE "$pattern" "$WORK/err" && ok "$what: refused ($(head -1 "$WORK/err"))" || fail "$what: message $(cat "$WORK/err")"
}
wait_status() { for _ in $(seq 100); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1; }

uses sm-a sm-b sm-c
rt create -b "$b" sm-a || fail "create sm-a"
pid="$(pid_of sm-a)"
check "created" [ "$(status_of sm-a)" = created ]
refused "delete of a created container" "sm-a.*is created, not stopped" rt delete sm-a
check "... left it created, init alive, state kept" sh -c "[ '$(status_of sm-a)' = created ] && kill -0 $pid && [ -e '$ROOT/sm-a' ]"
check "its cgroup kept" [ -n "$(cgroups_left "/sm-a\$")" ]
refused "create of an existing id" "sm-a.*already exists" rt create -b "$b" sm-a
check "... the existing one untouched" sh -c "[ '$(status_of sm-a)' = created ] && [ '$(pid_of sm-a)' = $pid ]"

rt start sm-a || fail "start sm-a"
check "running" [ "$(status_of sm-a)" = running ]
refused "start of a running container" "sm-a.*is running, not created" rt start sm-a
refused "delete of a running container" "sm-a.*is running, not stopped" rt delete sm-a
check "... still running" [ "$(status_of sm-a)" = running ]

rt pause sm-a || fail "pause"
check "paused" [ "$(status_of sm-a)" = paused ]
refused "kill of a paused container" "sm-a.*is paused, neither created nor running" rt kill sm-a KILL
refused "delete of a paused container" "sm-a.*is paused, not stopped" rt delete sm-a
check "... still paused" [ "$(status_of sm-a)" = paused ]
rt resume sm-a || fail "resume"

rt kill sm-a KILL || fail "kill of a running container"
check "stopped after kill" wait_status sm-a stopped
refused "kill of a stopped container" "sm-a.*is stopped, neither created nor running" rt kill sm-a TERM
refused "start of a stopped container" "sm-a.*is stopped, not created" rt start sm-a
rt delete sm-a && ok "delete of the stopped container" || fail "delete of the stopped container"
check "... state and cgroups gone" sh -c "[ ! -e '$ROOT/sm-a' ] && [ -z \"\$(find /sys/fs/cgroup -maxdepth 3 -path '*/ctbench/sm-a' 2>/dev/null)\" ]"
refused "state of a deleted container" "sm-a.*does not exist" rt state sm-a
refused "delete of a container that does not exist" "sm-a.*does not exist" rt delete sm-a
rt delete --force sm-a && ok "delete --force of one that does not exist is fine" || fail "delete --force idempotent"

# kill is allowed on a created container (the init is the container process before exec).
rt create -b "$b" sm-b || fail "create sm-b"
rt kill sm-b KILL && ok "kill of a created container" || fail "kill of a created container"
check "... stopped" wait_status sm-b stopped
rt delete sm-b && ok "delete after kill of created" || fail "delete sm-b"

# --force deletes a created container (what engines use, as with runc).
rt create -b "$b" sm-c || fail "create sm-c"
pid="$(pid_of sm-c)"
rt delete --force sm-c && ok "delete --force of a created container" || fail "delete --force sm-c"
for _ in $(seq 50); do alive "$pid" || break; sleep 0.05; done
! alive "$pid" && ok "... its init is gone" || fail "init $pid of sm-c alive"
check "... nothing left" sh -c "[ ! -e '$ROOT/sm-c' ] && [ -z \"\$(find /sys/fs/cgroup -maxdepth 3 -path '*/ctbench/sm-c' 2>/dev/null)\" ]"

[ "$fails" = 0 ]
