#!/usr/bin/env python3
"""Sanity of a bench report: every series has positive samples with a unit, its baseline is in
the report, and every traced series was traced for real (events seen, none lost) with buckets
that add up to each traced sample's time and at most 5 % unattributed. No timing thresholds."""
import json
import sys


def check(path, traced_prefix):
    report = json.load(open(path))
    problems = []
    benches = report["benchmarks"]
    names = {b["name"] for b in benches}
    if not benches:
        problems.append("no benchmark results; not run: %s" % report["benchmarks_not_run"])
    for b in benches:
        n = b["name"]
        if not b["unit"]:
            problems.append(f"{n}: no unit")
        if not b["samples"] or min(b["samples"]) <= 0:
            problems.append(f"{n}: samples must be positive: {b['samples']}")
        if b["baseline"] is not None and b["baseline"] not in names:
            problems.append(f"{n}: baseline {b['baseline']} is not in the report")
        trace = b.get("trace")
        if trace is None:
            # Only timed series are traced (start.lifecycle/maxrss-* counts KiB, untraced); a
            # part of another series' samples (ctbench-lib-create) is covered by that one's trace.
            covered = b["context"].get("traced_with")
            if covered and not any(x["name"] == covered and x.get("trace") for x in benches):
                problems.append(f"{n}: traced_with {covered}, which has no trace")
            if traced_prefix and n.startswith(traced_prefix) and b["unit"] == "ms" and not covered:
                problems.append(f"{n}: not traced (context.tracer: {b['context'].get('tracer')})")
            continue
        t = trace["tracer"]
        if t["events_seen"] <= 0:
            problems.append(f"{n}: tracer saw no events")
        if t["events_lost"] != 0:
            problems.append(f"{n}: {t['events_lost']} events lost")
        # A traced sample is timed at its trace window's bounds, and the attribution hands every
        # instant of the window to a bucket: only lost or double-counted time (a broken
        # attribution) makes the worst sample's buckets differ from its time by more than rounding.
        if trace["sum_error"] > 1e-6:
            problems.append(f"{n}: buckets differ from the sample's time by {trace['sum_error']:.2e} of it")
        if trace["unattributed_share"] > 0.05:
            problems.append(f"{n}: {trace['unattributed_share']:.1%} unattributed")
        if sum(p["on_cpu_ms"] + p["blocked_ms"] for p in trace["phases"]) <= 0:
            problems.append(f"{n}: every phase is empty")
        if trace["overhead_ratio"] <= 0:
            problems.append(f"{n}: no overhead ratio")
    for p in problems:
        print("FAIL", p)
    print(f"{len(benches)} series checked, {len(problems)} problems")
    return not problems


if __name__ == "__main__":
    # --traced PREFIX: series whose name starts with PREFIX must carry a trace.
    args = sys.argv[1:]
    traced = ""
    if "--traced" in args:
        i = args.index("--traced")
        traced = args[i + 1]
        del args[i:i + 2]
    paths = args
    sys.exit(0 if all(check(p, traced) for p in paths) else 1)
