#!/usr/bin/env python3
"""Sanity of a veth bench report: every series has positive samples in Mbit/s or us, the
loopback baseline of each bench is in the report and every other path of it has a ratio against
it, the loopback series carries a fidelity entry (a ratio from the tool, or the reason there is
none), and every engine series carries a network trace with events seen and zero lost. No timing
thresholds: the figures themselves belong in the report, not in the test."""
import json
import statistics
import sys

from fidelity_check import fidelity_round_problems


def same_cpu_problems(loop):
    """tcp_rr's pinned pairs (benches/veth/same_cpu.hpp): one per recorded round, positive medians
    of both tools, their ratio the median of the per-round ratios; or the reason there are none."""
    n, ctx = loop["name"], loop["context"]
    pinned = ctx.get("fidelity_same_cpu")
    if not pinned:
        return [] if ctx.get("fidelity_same_cpu_not_measured") else [f"{n}: neither a same-CPU pair nor the reason"]
    engine, tool, ratios = pinned.get("engine_median_us", []), pinned.get("tool_median_us", []), pinned.get("per_round_ratios", [])
    problems = []
    if not (len(engine) == len(tool) == len(ratios) == pinned.get("rounds") == len(loop["samples"])):
        problems.append(f"{n}: same-CPU pairs {len(engine)}/{len(tool)}/{len(ratios)} for {len(loop['samples'])} rounds")
    if any(v <= 0 for v in engine + tool) or not isinstance(pinned.get("cpu"), int):
        problems.append(f"{n}: same-CPU medians must be positive, on a named CPU: {pinned}")
    elif ratios and any(abs(r - e / t) > 1e-9 * r for r, e, t in zip(ratios, engine, tool)):
        problems.append(f"{n}: same-CPU ratios are not engine / tool per round")
    if ratios and abs(statistics.median(ratios) - pinned.get("ratio", 0)) > 1e-9:
        problems.append(f"{n}: same-CPU ratio is not the median of its rounds")
    return problems

UNITS = {"tcp_stream": "Mbit/s", "udp_stream": "Mbit/s", "tcp_rr": "us"}
PATHS = ["loopback", "netns-veth", "bridge", "published-nat", "published-proxy"]


def check(path, benches_expected):
    report = json.load(open(path))
    problems = []
    series = {b["name"]: b for b in report["benchmarks"]}
    for skip in report["benchmarks_not_run"]:
        problems.append(f"{skip['name']} did not run: {skip['reason']}")
    for bench in benches_expected:
        mode = bench.split(".", 1)[1]
        base = f"{bench}/loopback"
        if base not in series:
            problems.append(f"{bench}: no loopback baseline")
            continue
        loop = series[base]
        missing = loop["context"].get("not_measured", [])
        for p in PATHS:
            name = f"{bench}/{p}"
            if name not in series:
                if not any(m.startswith(p) or (p.startswith("published") and m.startswith("bridge, published"))
                           for m in missing):
                    problems.append(f"{name}: neither measured nor listed in not_measured ({missing})")
                continue
            b = series[name]
            if b["unit"] != UNITS[mode]:
                problems.append(f"{name}: unit {b['unit']!r}, expected {UNITS[mode]!r}")
            if not b["samples"] or min(b["samples"]) <= 0:
                problems.append(f"{name}: samples must be positive: {b['samples']}")
            # Sampled round-robin: sample i of every path is from round i (compare pairs them).
            if not b.get("sampled_in_rounds") or len(b["samples"]) != len(loop["samples"]):
                problems.append(f"{name}: not flagged sampled_in_rounds with one sample per round "
                                f"({len(b['samples'])} samples, loopback {len(loop['samples'])})")
            if p != "loopback" and (b["baseline"] != base or not b["ratio"] or b["ratio"] <= 0):
                problems.append(f"{name}: no ratio against {base} ({b['baseline']}, {b['ratio']})")
            trace = b.get("trace")
            if not trace:
                problems.append(f"{name}: no network trace (tracer: {b['context'].get('tracer')})")
            else:
                if trace["lost"] != 0 or trace["tracer"]["events_lost"] != 0:
                    problems.append(f"{name}: {trace['lost']} tracer events lost")
                if trace["tracer"]["events_seen"] <= 0:
                    problems.append(f"{name}: the tracer saw nothing")
                moved = sum(i["tx_packets"] + i["rx_packets"] for i in trace["interfaces"])
                if moved <= 0:
                    problems.append(f"{name}: no packet counted on {[i['name'] for i in trace['interfaces']]}")
        if mode == "tcp_rr":
            for suffix in ("/p99", "/p99.9"):
                if base + suffix not in series:
                    problems.append(f"{bench}: no {suffix} series")
        fid = loop.get("fidelity")
        reason = loop["context"].get("fidelity_not_measured")
        if fid:
            if not fid.get("tool") or not fid.get("tool_version") or not fid.get("metric") or fid["ratio"] <= 0:
                problems.append(f"{base}: incomplete fidelity {fid}")
            problems += fidelity_round_problems(loop)
            tool_series = f"{base}-{fid['tool']}"
            if tool_series not in series:
                problems.append(f"{base}: fidelity without the tool's own series {tool_series}")
            if mode == "tcp_rr":
                problems += same_cpu_problems(loop)
        elif not reason:
            problems.append(f"{base}: neither a fidelity ratio nor the reason there is none")
    for p in problems:
        print("FAIL", p)
    print(f"{len(series)} series checked, {len(problems)} problems")
    return not problems


if __name__ == "__main__":
    # check_veth.py REPORT BENCH...
    sys.exit(0 if check(sys.argv[1], sys.argv[2:]) else 1)
