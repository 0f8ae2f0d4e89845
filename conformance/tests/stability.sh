#!/usr/bin/env bash
# Twenty consecutive runs of the whole conformance suite (built-in runtime) give identical
# verdicts, and none leaves anything behind (`ctbench doctor --cleanup` finds nothing after each).
# CTBENCH_STABILITY_RUNS overrides the count (at least 2).
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
runs="${CTBENCH_STABILITY_RUNS:-20}"
tmp="$(mktemp -d /tmp/ctbench-stability.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
start=$(date +%s)
for i in $(seq 1 "$runs"); do
  t0=$(date +%s)
  "$CTBENCH" run --suite conformance --format json --output "$tmp/run-$i.json" >/dev/null 2>"$tmp/err-$i"
  rc=$?
  if [ "$rc" = 2 ]; then echo "FAIL run $i: infrastructure error"; cat "$tmp/err-$i"; fails=$((fails+1)); continue; fi
  left="$("$CTBENCH" doctor --cleanup)"
  [ "$left" = "nothing to clean up" ] || { echo "FAIL run $i left: $left"; fails=$((fails+1)); }
  echo "run $i: exit $rc in $(( $(date +%s) - t0 )) s"
done
"$VERDICTS" same "$tmp"/run-*.json || fails=$((fails+1))
echo "$runs runs in $(( $(date +%s) - start )) s"
[ "$fails" = 0 ]
