#!/usr/bin/env bash
# The conformance suite gives the same verdicts with runc, crun and ctbench-runtime (the built-in
# runtime driven as an OCI CLI, $CTBENCH_RUNTIME) as with the built-in library, except where a
# case skips with the runtime's own reason (e.g. no time namespaces in runc 1.1) or
# known-differences.txt names the difference and its cause; runs against external runtimes leave
# nothing behind either.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-agreement.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
run() {  # runtime -> $tmp/<basename of runtime>.json
  local out="$tmp/$(basename "$1").json"
  "$CTBENCH" run --suite conformance --runtime "$1" --format json --output "$out" >/dev/null 2>"$out.err"
  [ "$?" != 2 ] || { echo "FAIL $1: infrastructure error"; cat "$out.err"; fails=$((fails+1)); }
  left="$("$CTBENCH" doctor --cleanup)"
  [ "$left" = "nothing to clean up" ] || { echo "FAIL $1 left: $left"; fails=$((fails+1)); }
}
run ctbench
for rt in runc crun "${CTBENCH_RUNTIME:-}"; do
  [ -n "$rt" ] || { echo "FAIL CTBENCH_RUNTIME is not set"; fails=$((fails+1)); continue; }
  command -v "$rt" >/dev/null || { echo "FAIL $rt is not installed (scripts/setup.sh installs it)"; fails=$((fails+1)); continue; }
  run "$rt"
  "$VERDICTS" agree "$tmp/ctbench.json" "$tmp/$(basename "$rt").json" "$(dirname "$0")/known-differences.txt" || fails=$((fails+1))
done
[ "$fails" = 0 ]
