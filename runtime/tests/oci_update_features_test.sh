#!/usr/bin/env bash
# `features` and `update` (root). features: the runtime-spec features document, checked against
# a JSON Schema written from features.md / features-linux.json (required versions, hook names,
# namespace types, CAP_ names, SCMP_ names), and at least what runc lists for namespaces and
# hooks. update: a running container's pids and memory limits changed, proven by enforcement
# (forks fail beyond the new pids limit; a 64 MiB buffer is OOM-killed under a 32 MiB limit),
# with a control before each update; bad values are refused naming the field.
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
make_bundle "$B"
(cd "$B" && "$RT" spec) || fail "spec"
edit_config "$B/config.json" "c['process']['args'] = ['/bin/sleep', '60']"

rt features > "$WORK/features.json" && ok "features prints" || fail "features"
/usr/bin/python3 - "$WORK/features.json" <<'PY' && ok "features document matches the spec's schema shape" || fail "features schema"
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
names = lambda pattern: {"type": "array", "items": {"type": "string", "pattern": pattern}}
booleans = lambda *keys: {"type": "object", "properties": {k: {"type": "boolean"} for k in keys}}
schema = {
  "type": "object", "required": ["ociVersionMin", "ociVersionMax"],
  "properties": {
    "ociVersionMin": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
    "ociVersionMax": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
    "hooks": {"type": "array", "items": {"enum": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]}},
    "mountOptions": names(r"^[a-z]+$"),
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    "linux": {"type": "object", "properties": {
      "namespaces": {"type": "array", "items": {"enum": ["mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"]}},
      "capabilities": names(r"^CAP_[A-Z_]+$"),
      "cgroup": booleans("v1", "v2", "systemd", "systemdUser", "rdma"),
      "seccomp": {"type": "object", "properties": {"enabled": {"type": "boolean"},
        "actions": names(r"^SCMP_ACT_[A-Z_]+$"), "operators": names(r"^SCMP_CMP_[A-Z_]+$"),
        "archs": names(r"^SCMP_ARCH_[A-Z0-9_]+$"), "knownFlags": names(r"^SECCOMP_FILTER_FLAG_[A-Z_]+$"),
        "supportedFlags": names(r"^SECCOMP_FILTER_FLAG_[A-Z_]+$")}},
      "apparmor": booleans("enabled"), "selinux": booleans("enabled")}}}}
jsonschema.validate(doc, schema)
assert len(doc["hooks"]) == 6 and "rbind" in doc["mountOptions"] and "CAP_SYS_ADMIN" in doc["linux"]["capabilities"], doc
PY
if command -v runc >/dev/null; then
  runc features > "$WORK/runc.json"
  /usr/bin/python3 - "$WORK/features.json" "$WORK/runc.json" <<'PY' && ok "features lists every namespace and hook runc lists" || fail "features vs runc"
import json, sys
ours, runc = (json.load(open(p)) for p in sys.argv[1:])
missing = set(runc["linux"]["namespaces"]) - set(ours["linux"]["namespaces"])
missing |= set(runc["hooks"]) - set(ours["hooks"])
assert not missing, missing
PY
fi

uses up
rt create --bundle "$B" up >/dev/null 2>&1 && rt start up || fail "create/start up"
# Forks: init (sleep) + exec's joiner + exec'd sh = 3 tasks before the loop.
forks='p=; for i in 1 2 3 4 5 6; do sleep 3 & p="$p $!"; done 2>&1; kill $p 2>/dev/null; wait; echo done'
out="$(rt exec up /bin/sh -c "$forks" 2>&1)"
! grep -q "can't fork" <<<"$out" && grep -q done <<<"$out" && ok "control: 6 forks succeed before the update" || fail "control forks: $out"
cur="$(cat /sys/fs/cgroup/pids/ctbench/up/pids.current)"
[ "$cur" = 1 ] && ok "the control's forks are gone (pids.current 1)" || fail "pids.current after control: $cur"
rt update --pids-limit 5 up && ok "update --pids-limit 5" || fail "update pids"
out="$(rt exec up /bin/sh -c "$forks" 2>&1)"
grep -q "can't fork" <<<"$out" && ok "forks beyond the new pids limit fail" || fail "pids limit not enforced: $out"
rt update --pids-limit -1 up && out="$(rt exec up /bin/sh -c "$forks" 2>&1)" && ! grep -q "can't fork" <<<"$out" && ok "pids limit lifted again" || fail "lift pids: $out"

# Memory: dd's 64 MiB buffer fits before, is OOM-killed after a 32 MiB update (-r resources.json).
dd_64m='dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "rc=$?"'
out="$(rt exec up /bin/sh -c "$dd_64m" 2>&1)"
grep -q "rc=0" <<<"$out" && ok "control: a 64 MiB buffer fits" || fail "memory control: $out"
echo '{"memory": {"limit": 33554432, "swap": 33554432}}' > "$WORK/resources.json"
rt update -r "$WORK/resources.json" up && ok "update -r resources.json (memory 32 MiB)" || fail "update memory"
out="$(rt exec up /bin/sh -c "$dd_64m" 2>&1)"
grep -q "rc=137" <<<"$out" && grep -q oom_kill "/sys/fs/cgroup/memory/ctbench/up/memory.oom_control" && \
  [ "$(awk '/oom_kill /{print $2}' /sys/fs/cgroup/memory/ctbench/up/memory.oom_control)" -ge 1 ] && ok "the 64 MiB buffer is OOM-killed under the new limit" || fail "memory limit not enforced: $out"

# Bad input: named, nothing changed.
out="$(rt update --memory 12q up 2>&1)" && fail "bad --memory accepted" || { grep -q -- "--memory" <<<"$out" && ok "bad --memory refused: $out" || fail "bad memory: $out"; }
echo '{"pids": {"limit": "many"}}' > "$WORK/bad.json"
out="$(rt update -r "$WORK/bad.json" up 2>&1)" && fail "bad resources.json accepted" || { grep -q "pids.limit" <<<"$out" && ok "bad resources.json names the field: $out" || fail "bad json: $out"; }
out="$(rt update --pids-limit 5 nosuch 2>&1)" && fail "update of a missing container accepted" || ok "update of a missing container refused"
rt delete --force up || fail "delete up"
[ "$fails" = 0 ]
