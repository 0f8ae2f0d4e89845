#!/usr/bin/env bash
# The conformance suite gives the same verdicts with runc and crun as with the built-in runtime,
# except where a case skips with the runtime's own reason (e.g. no time namespaces in runc 1.1);
# runs against external runtimes leave nothing behind either.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-agreement.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
run() {  # runtime -> $tmp/<runtime>.json
  "$CTBENCH" run --suite conformance --runtime "$1" --format json --output "$tmp/$1.json" >/dev/null 2>"$tmp/$1.err"
  [ "$?" != 2 ] || { echo "FAIL $1: infrastructure error"; cat "$tmp/$1.err"; fails=$((fails+1)); }
  left="$("$CTBENCH" doctor --cleanup)"
  [ "$left" = "nothing to clean up" ] || { echo "FAIL $1 left: $left"; fails=$((fails+1)); }
}
run ctbench
for rt in runc crun; do
  command -v "$rt" >/dev/null || { echo "FAIL $rt is not installed (scripts/setup.sh installs it)"; fails=$((fails+1)); continue; }
  run "$rt"
  "$VERDICTS" agree "$tmp/ctbench.json" "$tmp/$rt.json" "$(dirname "$0")/known-differences.txt" || fails=$((fails+1))
done
[ "$fails" = 0 ]
