#!/usr/bin/env bash
# The configs other tools generate run unchanged under ctbench-runtime (root): `runc spec` and
# `crun spec` in a busybox bundle. runc's lists ambient capabilities that are not inheritable:
# they are skipped with a warning (as runc does), never a failure. runc's config has
# process.terminal: the runtime runs at a pty of the test's own (pty_caller.py), as a user would.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/oci_lib.sh"

run_generated() {  # run_generated TOOL ID
  local tool="$1" id="$2" b="$WORK/$1" out err rc
  command -v "$tool" >/dev/null || { fail "$tool is missing (scripts/setup.sh installs it)"; return; }
  make_bundle "$b"
  (cd "$b" && "$tool" spec) || { fail "$tool spec"; return; }
  uses "$id"
  # The config is used as generated: args ["sh"] with terminal true, so `run` at a terminal (a pty
  # of the test's own) attaches it and sh reads its commands from it.
  out="$(cd "$b" && /usr/bin/python3 "$HERE/pty_caller.py" 24 80 \
         "id -u\ncat /proc/self/status\necho done-$tool\nexit\n" "$RT" --root "$ROOT" run "$id")"
  rc="$(sed -n 's/^EXIT //p' <<<"$out")"
  err="$out"
  [ "$rc" = 0 ] && ok "$tool spec config runs (rc 0)" || fail "$tool spec config: rc=$rc $err"
  grep -qx "done-$tool" <<<"$out" && grep -qx 0 <<<"$out" && ok "$tool config: commands ran as root" || fail "$tool config output: $out"
  # The bounding set the config names (AUDIT_WRITE, KILL, NET_BIND_SERVICE = 0x20000420) is what the process holds.
  grep -q "^CapBnd:.*0000000020000420" <<<"$out" && ok "$tool config: bounding set as configured" || fail "$tool CapBnd: $(grep Cap <<<"$out")"
  if grep -q '"ambient"' "$b/config.json" && ! grep -q '"inheritable"' "$b/config.json"; then
    grep -q "warning: cannot raise ambient capability CAP_KILL" <<<"$err" && ok "$tool config: unraisable ambient capability is a warning" \
      || fail "$tool ambient warning missing: $err"
  fi
  [ ! -e "$ROOT/$id" ] && [ -z "$(cgroups_left "/$id\$")" ] && ok "$tool config: nothing left" || fail "$tool config left state or cgroups"
}

run_generated runc oci-runc-spec
run_generated crun oci-crun-spec
[ "$fails" = 0 ]
