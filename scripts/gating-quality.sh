#!/usr/bin/env bash
# gating-quality.sh: measure the regression gate (`ctbench compare`) on this host.
#   false-alarm rate: N A/A comparisons (two runs of the same build, nothing changed)
#   detection rate:   N A/B comparisons against runs with the runtime's create path slowed down
#                     by P % (CTBENCH_INJECT_CREATE_DELAY_PCT, runtime/container/inject_delay.hpp:
#                     compiled in for this measurement only; nothing else sets it)
# Each pair i uses three runs of `ctbench run --suite start`, interleaved (clean a_i, slowed c_i,
# clean b_i) so that drift of the host hits both sides: A/A = a_i vs b_i, A/B = a_i vs c_i.
# A detection is a regression of a series the delay affects (the built-in library or
# ctbench-runtime); any regression in an A/A pair is a false alarm. Each run holds the shared host
# lock (/tmp/ctbench-dev.lock) only while it runs.
# The gate is the one we recommend for a shared or noisy host: `compare --normalize` (each series
# judged by its ratio to its baseline series of the same run, so drift of the whole host between
# runs cancels) with the default family-wise (Holm) alpha over the gated series. `--raw` measures
# the plain gate instead. `--filter` picks the start benches (default: start.lifecycle, the one
# the create path affects; '.' for every start bench).
# `--repetitions N` sets the samples per series of each run (default 100, about 30 s per run
# here; the bench's own default is 20): the per-round ratios vary from round to round, so a few
# percent needs many rounds to be significant after the Holm correction.
# `--gate RE` (default '/ctbench-'): the series gated, as a runtime developer gates a change to
# ctbench's runtime: its own series (library, create path, CLI; not its peak RSS, which is named
# maxrss-ctbench-runtime and barely moves). crun, runc and the
# floors did not change; they are compared and shown, not gated (`compare --gate`). '' gates all.
# Usage (root): scripts/gating-quality.sh [--pairs N] [--pct P] [--filter RE] [--repetitions N] [--raw]
#               [--gate RE] [--ctbench PATH] [--out DIR] [-- more compare flags]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pairs=10 pct=10 ctbench="$here/build/cli/ctbench" out="" compare_flags=() filter='^start\.lifecycle' gate=(--normalize)
repetitions=(--repetitions 100) gate_re='/ctbench-'
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs="$2"; shift 2 ;;
    --pct) pct="$2"; shift 2 ;;
    --ctbench) ctbench="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --filter) filter="$2"; shift 2 ;;
    --repetitions) repetitions=(--repetitions "$2"); shift 2 ;;
    --raw) gate=(); shift ;;
    --gate) gate_re="$2"; shift 2 ;;
    --) shift; compare_flags=("$@"); break ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "gating-quality.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "gating-quality.sh: must run as root (ctbench run)" >&2; exit 2; }
[ -x "$ctbench" ] || { echo "gating-quality.sh: no ctbench at $ctbench (build it or pass --ctbench)" >&2; exit 2; }
if [ -z "$out" ]; then out="$(mktemp -d /tmp/ctbench-gating.XXXXXX)"; fi
mkdir -p "$out"

run() {  # run NAME [env...]: one retry when a run produced no benchmark (its setup broke)
  local name="$1" attempt waited; shift
  for attempt in 1 2; do
    # Another `ctbench run` holding /run/ctbench.lock is waited for (bounded: 15 minutes).
    for waited in $(seq 0 5 900); do
      run_once "$name" "$@"
      grep -q 'another ctbench run or cleanup is in progress' "$out/$name.log" || break
      sleep 5
    done
    if /usr/bin/python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["benchmarks"] else 1)' \
        "$out/$name.json" 2>/dev/null; then return 0; fi
    echo "run $name (attempt $attempt) measured nothing: $(tail -1 "$out/$name.log")" >&2
    cp "$out/$name.log" "$out/$name.failed-$attempt.log"
  done
  echo "gating-quality.sh: run $name failed twice" >&2
  exit 1
}

run_once() {  # run_once NAME [env...]
  local name="$1"; shift
  rm -f "$out/$name.json"
  env "$@" flock /tmp/ctbench-dev.lock "$ctbench" run --suite start --filter "$filter" "${repetitions[@]}" --quiet --format json \
    --output "$out/$name.json" >"$out/$name.log" 2>&1 || true
}

# verdict BASE NEW: prints the regressed series (comma separated, "-" for none)
verdict() {
  "$ctbench" compare --format json "${gate[@]}" --gate "$gate_re" "${compare_flags[@]}" "$1" "$2" >"$3" || [ $? = 1 ] || {
    echo "gating-quality.sh: compare $1 $2 failed" >&2; exit 1; }
  /usr/bin/python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
r = [b["name"].split("/")[-1] + "(%+.1f%%,p=%.2g)" % (b["change"] * 100, b["u_test"]["p_value"]) for b in c["benchmarks"] if b["regression"]]
r += [x["id"] for x in c["cases"] if x["regression"]]
print(",".join(r) or "-")' "$3"
}

false_alarms=0 detections=0
printf '%-4s %-60s %s\n' pair "A/A regressions" "A/B regressions"
for i in $(seq 1 "$pairs"); do
  run "a$i"
  run "c$i" CTBENCH_INJECT_CREATE_DELAY_PCT="$pct"
  run "b$i"
  aa="$(verdict "$out/a$i.json" "$out/b$i.json" "$out/aa$i.json")"
  ab="$(verdict "$out/a$i.json" "$out/c$i.json" "$out/ab$i.json")"
  [ "$aa" = "-" ] || false_alarms=$((false_alarms + 1))
  # The delay is in Container::create: the in-process library and the ctbench-runtime CLI.
  if grep -qE '(^|,)(ctbench|ctbench-runtime|library)[^,/]*\(' <<<"$ab"; then detections=$((detections + 1)); fi
  printf '%-4s %-60s %s\n' "$i" "$aa" "$ab"
done
echo "false alarms: $false_alarms/$pairs A/A comparisons; detections: $detections/$pairs A/B comparisons (create path +$pct %)"
echo "gate: ctbench compare ${gate[*]} --gate '$gate_re' ${compare_flags[*]} (filter $filter)"
echo "reports and comparisons in $out"
