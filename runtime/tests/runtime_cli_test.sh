#!/usr/bin/env bash
# ctbench-runtime's OCI CLI (root): runc-style lifecycle, state machine, errors naming the
# field, SIGKILL recovery; nothing left behind.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
RT="$(readlink -f "$CTBENCH_RUNTIME")"
root="/run/ctbench/runtime-clitest-$$"
bundle="$(mktemp -d /tmp/ctbench-bundle.XXXXXX)"
trap 'rm -rf "$bundle"; "$RT" --root "$root" delete --force c1 >/dev/null 2>&1; "$RT" --root "$root" delete --force c2 >/dev/null 2>&1; rmdir "$root" 2>/dev/null' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
status_of() { "$RT" --root "$root" state "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

(cd "$bundle" && "$RT" spec) || fail "spec"
/usr/bin/python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["args"] = ["/usr/bin/ctbench-agent", "sleep", "30"]
json.dump(c, open(p, "w"))
PY
"$RT" --root "$root" create --default-image --bundle "$bundle" --pid-file "$bundle/pid" c1 && ok "create" || fail "create"
[ "$(status_of c1)" = created ] && ok "state created" || fail "state after create: $(status_of c1)"
[ "$(cat "$bundle/pid")" -gt 1 ] && ok "pid file" || fail "pid file"
"$RT" --root "$root" start c1 && ok "start" || fail "start"
[ "$(status_of c1)" = running ] && ok "state running" || fail "state after start: $(status_of c1)"
"$RT" --root "$root" start c1 2>/dev/null && fail "second start accepted" || ok "second start refused"
"$RT" --root "$root" pause c1 && [ "$(status_of c1)" = paused ] && ok "paused" || fail "pause"
"$RT" --root "$root" resume c1 && [ "$(status_of c1)" = running ] && ok "resumed" || fail "resume"
[ "$("$RT" --root "$root" ps c1)" = "$(cat "$bundle/pid")" ] && ok "ps lists the init" || fail "ps"
out="$("$RT" --root "$root" exec c1 /bin/hostname)" && [ "$out" = ctbench ] && ok "exec sees the container hostname" || fail "exec: $out"
# As runc: options before the id; everything after it is the command's, even what looks like ours.
out="$("$RT" --root "$root" exec --env CTB_X=1 c1 /bin/sh -c 'echo "$CTB_X" -p --cwd' 2>&1)"
[ "$out" = "1 -p --cwd" ] && ok "exec passes the command's own options through" || fail "exec options: $out"
out="$("$RT" --root "$root" exec c1 -- /bin/echo --help 2>&1)"
[ "$out" = "--help" ] && ok "exec ID -- COMMAND" || fail "exec --: $out"
"$RT" --root "$root" exec c1 2>"$bundle/err" && fail "exec without a command accepted" || \
  { grep -q "COMMAND" "$bundle/err" && ok "exec without a command names what is missing" || fail "exec no command: $(cat "$bundle/err")"; }
"$RT" --root "$root" delete c1 2>/dev/null && fail "delete of running accepted" || ok "delete of running refused"
"$RT" --root "$root" kill c1 KILL && ok "kill" || fail "kill"
for _ in $(seq 50); do [ "$(status_of c1)" = stopped ] && break; sleep 0.1; done
[ "$(status_of c1)" = stopped ] && ok "state stopped" || fail "state after kill: $(status_of c1)"
"$RT" --root "$root" delete c1 && ok "delete" || fail "delete"
[ ! -e "$root/c1" ] && ok "state removed" || fail "state left"

# A bad value in config.json: exit 1, the field named, nothing created.
/usr/bin/python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c.setdefault("linux", {}).setdefault("resources", {})["memory"] = {"limit": "abc"}
json.dump(c, open(p, "w"))
PY
msg="$("$RT" --root "$root" create --default-image --bundle "$bundle" c2 2>&1)"; rc=$?
[ $rc = 1 ] && grep -q 'linux.resources.memory.limit: expected integer' <<<"$msg" && ok "bad config names the field" || fail "bad config: rc=$rc $msg"
[ ! -e "$root/c2" ] && ok "nothing created for a bad config" || fail "state for bad config"

# A runtime SIGKILLed in the middle of create leaves state that delete --force removes.
/usr/bin/python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
del c["linux"]["resources"]["memory"]
json.dump(c, open(p, "w"))
PY
"$RT" --root "$root" create --default-image --bundle "$bundle" c2 && kill -9 "$(cat /dev/null; "$RT" --root "$root" state c2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
"$RT" --root "$root" delete --force c2 && ok "delete --force after SIGKILL" || fail "delete --force"
"$RT" --root "$root" delete --force c2 && ok "delete --force is idempotent" || fail "second delete --force"
left="$(ls /sys/fs/cgroup/*/ctbench/ 2>/dev/null | grep -E 'c1|c2')"
[ -z "$left" ] && ok "no cgroups left" || fail "cgroups left: $left"
[ "$fails" = 0 ]
