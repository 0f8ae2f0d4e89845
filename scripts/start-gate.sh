#!/usr/bin/env bash
# start-gate.sh: catch a slower container start. Runs the start benchmarks (start.lifecycle and
# start.churn) and judges the run against the committed reference report
# (benches/start/reference.json, issue 14's figures):
#   1. ratio gate (the verdict): every series' ratio to its in-run baseline (ctbench-lib /
#      minimal-container, ctbench-runtime / crun, churn / crun, ...) may not be worse than the
#      reference's by more than --ratio-tolerance percent (default 50). A ratio to a baseline
#      measured in the same run cancels the drift of a shared host, which moves every series
#      at once (README, "Gating quality").
#   2. absolute gate (advice only unless --absolute): `ctbench compare REFERENCE RUN`, the U test
#      and bootstrap CI on the medians themselves; on a shared, noisy host it false-alarms.
# Exit 0: no regression; 1: a regression (printed); 2: the run or the tools failed.
# Usage (root): scripts/start-gate.sh [--reference FILE] [--ctbench PATH] [--out FILE]
#                                     [--ratio-tolerance PCT] [--repetitions N] [--absolute]
# To accept new figures as the reference: run it, check the report, copy --out over the reference.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reference="$here/benches/start/reference.json" ctbench="$here/build/cli/ctbench" out="" tolerance=50 reps="" absolute=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reference) reference="$2"; shift 2 ;;
    --ctbench) ctbench="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --ratio-tolerance) tolerance="$2"; shift 2 ;;
    --repetitions) reps="$2"; shift 2 ;;
    --absolute) absolute=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "start-gate.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "start-gate.sh: must run as root (ctbench run)" >&2; exit 2; }
[ -x "$ctbench" ] || { echo "start-gate.sh: no ctbench at $ctbench (build it or pass --ctbench)" >&2; exit 2; }
[ -r "$reference" ] || { echo "start-gate.sh: no reference report at $reference" >&2; exit 2; }
[[ "$tolerance" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "start-gate.sh: --ratio-tolerance must be a number of percent" >&2; exit 2; }
if [ -z "$out" ]; then out="$(mktemp /tmp/ctbench-start-gate.XXXXXX.json)"; fi

args=(run --suite start --filter '^start\.(lifecycle|churn)$' --quiet --format json --output "$out")
[ -n "$reps" ] && args+=(--repetitions "$reps")
# The host lock (/run/ctbench.lock) may be held by another run: wait for it, bounded (10 min).
run_status=0
for attempt in $(seq 1 60); do
  run_status=0
  "$ctbench" "${args[@]}" >"$out.log" 2>&1 || run_status=$?
  grep -q "another ctbench run or cleanup is in progress" "$out.log" || break
  sleep 10
done
if [ "$run_status" != 0 ]; then
  echo "start-gate.sh: ctbench run failed (log: $out.log):" >&2
  tail -5 "$out.log" >&2
  exit 2
fi
echo "start-gate.sh: run report $out"

status=0
/usr/bin/python3 "$here/scripts/start_gate_ratios.py" "$reference" "$out" "$tolerance" || status=$?
[ "$status" -le 1 ] || exit 2

compare_status=0
"$ctbench" compare "$reference" "$out" || compare_status=$?
if [ "$compare_status" -ge 2 ]; then echo "start-gate.sh: ctbench compare failed" >&2; exit 2; fi
if [ "$compare_status" -eq 1 ]; then
  if [ "$absolute" = 1 ]; then status=1
  else echo "start-gate.sh: (absolute figures differ; advice only on a shared host, --absolute makes it gate)"; fi
fi
[ "$status" = 0 ] && echo "start-gate.sh: no start regression against $(basename "$reference")"
exit "$status"
