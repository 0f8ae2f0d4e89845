#!/usr/bin/python3
"""The ratio gate of scripts/start-gate.sh: compare each benchmark's ratio to its in-run baseline.

usage: start_gate_ratios.py REFERENCE RUN TOLERANCE_PERCENT
A series regresses when its ratio got worse than the reference's by more than the tolerance:
for a time (unit ms) a higher ratio is worse, for a rate (containers/s) a lower one. Series the
run lacks, or whose baseline differs from the reference's, are errors: the gate must not pass
because a series quietly disappeared. Only ctbench's own series are judged (the library, the
runtime CLI and the minimal container, which is ctbench's code too); another runtime's ratio
(runc against crun) moves with those runtimes' versions and what ran before them, which no
change here can cause, so it is printed as information.
Exit 0: no regression; 1: at least one (each printed); 2: unreadable input or missing series.
"""
import json
import sys


def series(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"start-gate: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    return {b["name"]: b for b in doc.get("benchmarks", [])}


def ours(name):
    leaf = name.split("/", 1)[-1]
    return "ctbench" in leaf or "minimal-container" in leaf


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    reference, run = series(argv[1]), series(argv[2])
    try:
        tolerance = float(argv[3]) / 100.0
    except ValueError:
        print(f"start-gate: tolerance '{argv[3]}' is not a number", file=sys.stderr)
        return 2
    regressions, problems, checked = [], [], 0
    for name, ref in sorted(reference.items()):
        if ref.get("ratio") is None:
            continue
        cand = run.get(name)
        if cand is None or cand.get("ratio") is None:
            problems.append(f"{name}: in the reference (ratio {ref['ratio']:.3f}) but not measured in this run")
            continue
        if cand.get("baseline") != ref.get("baseline"):
            problems.append(f"{name}: baseline {cand.get('baseline')} here, {ref.get('baseline')} in the reference")
            continue
        checked += 1
        higher_is_worse = ref.get("unit") != "containers/s"
        change = cand["ratio"] / ref["ratio"] - 1.0 if ref["ratio"] > 0 else 0.0
        worse = ours(name) and (change > tolerance if higher_is_worse else change < -tolerance)
        verdict = ("REGRESSION" if worse else "ok") if ours(name) else "info"
        print(f"{verdict:10} {name}: ratio to {ref['baseline']} {ref['ratio']:.3f} -> {cand['ratio']:.3f} "
              f"({change * 100:+.1f} %, tolerance {tolerance * 100:.0f} %)")
        if worse:
            regressions.append(name)
    for p in problems:
        print(f"start-gate: {p}", file=sys.stderr)
    if problems:
        return 2
    if checked == 0:
        print("start-gate: the reference has no series with a ratio", file=sys.stderr)
        return 2
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
