#!/usr/bin/env python3
"""Sanity of an overlayio report (no timing thresholds): every overlayio bench ran; every series
has positive samples with a unit and, when it names a baseline, a ratio against a series of the
report; each bare series of the data benches carries a fio fidelity figure (median of per-round
ratios, its rounds in context.fidelity_rounds) or says why not; data series are sampled in rounds; every
traced series has an I/O trace with zero lost events, and the traces show what the benches do
(bytes in the upper layer for the container, block reads for O_DIRECT reads, copy-ups counted,
every timed pread64/pwrite64 of a random pass and none of its layout); the random benches' bare
series carry the fidelity pair by the kernel's clock (context.fidelity_kernel_view) or why not."""
import json
import sys

from fidelity_check import fidelity_round_problems

BENCHES = ["seqread", "seqwrite", "randread", "randwrite", "metadata", "copyup", "lookup"]
DATA = ["seqread", "seqwrite", "randread", "randwrite"]
RANDOM = ["randread", "randwrite"]  # the data benches whose fidelity is a latency


def traced(ctx):
    """Whether the host could trace this series (context.tracer is "off: <reason>" otherwise)."""
    return not str(ctx.get("tracer", "off")).startswith("off")


def fidelity_of(b):
    return b.get("fidelity") or b["context"].get("fidelity")


def layer_bytes(trace, layer, key):
    return sum(l[key] for l in trace["layers"] if l["layer"] == layer)


def check_series(b, names, problems):
    n = b["name"]
    if not b["unit"]:
        problems.append(f"{n}: no unit")
    if not b["samples"] or min(b["samples"]) <= 0:
        problems.append(f"{n}: samples must be positive: {b['samples']}")
    if b["baseline"] is not None:
        if b["baseline"] not in names:
            problems.append(f"{n}: baseline {b['baseline']} is not in the report")
        if not b["ratio"] or b["ratio"] <= 0:
            problems.append(f"{n}: baseline without a positive ratio")
    if "where" not in b["context"]:
        problems.append(f"{n}: context does not say where it ran")


def check_trace(b, problems):
    n, ctx, trace = b["name"], b["context"], b.get("trace")
    if not traced(ctx):
        return
    if trace is None:
        if not ctx.get("trace_on") and "/read-" not in n:
            problems.append(f"{n}: tracer {ctx['tracer']} but no trace")
        return
    if trace.get("kind") != "io":
        problems.append(f"{n}: trace is not an I/O trace")
        return
    if trace["lost"] != 0 or trace["tracer"]["lost"] != 0:
        problems.append(f"{n}: {trace['lost']} events lost")
    bench = n.split("/")[0].split(".")[1]
    where = ctx["where"]
    if bench in DATA:
        key = "write_bytes" if "write" in bench else "read_bytes"
        layer = {"container": "upper", "bare": "bare", "tmpfs": "tmpfs"}[where]
        if layer_bytes(trace, layer, key) <= 0:
            problems.append(f"{n}: trace shows no {key} in layer {layer}: {trace['layers']}")
        if where != "tmpfs" and ctx.get("mode") == "direct":
            direction = "write" if "write" in bench else "read"
            if trace["block"][direction]["requests"] <= 0:
                problems.append(f"{n}: O_DIRECT {direction}s but no block {direction} request traced")
    if bench in RANDOM:
        # The engine times its transfers with pread64/pwrite64 and lays out its file with write():
        # the kernel timed every transfer of the pass and none of the layout's (in a container the
        # runtime's own few calls come on top).
        direction = "write" if "write" in bench else "read"
        timed = trace.get("timed_calls", {}).get(direction, {}).get("calls", 0)
        ops = ctx.get("ops_per_sample", 0)
        layout = ctx.get("file_bytes", 0) // max(ctx.get("block_bytes", 1), 1)
        if timed < ops or timed >= ops + layout or (where == "bare" and timed != ops):
            problems.append(f"{n}: {timed} timed {direction} calls traced for a pass of {ops}")
    if bench == "copyup" and where == "container" and n.split("/")[1].startswith("write"):
        cu = trace["copy_up"]
        if cu.get("traced") and cu["count"] < len(b["samples"]):
            problems.append(f"{n}: {len(b['samples'])} copy-ups measured, {cu['count']} traced")


def kernel_view_problems(b):
    n, ctx = b["name"], b["context"]
    kv = ctx.get("fidelity_kernel_view")
    if kv is None:
        random = n.split("/")[0].split(".")[1] in RANDOM
        if random and b.get("fidelity") and traced(ctx):
            return [f"{n}: traced fidelity pair without context.fidelity_kernel_view"]
        return []
    if "not_run" in kv:
        # Only a host that cannot trace excuses it; a traced run that failed is a finding.
        if traced(ctx):
            return [f"{n}: tracer {ctx.get('tracer')} on, but the kernel view did not run: {kv['not_run']}"]
        return [] if kv["not_run"] else [f"{n}: kernel view not run without a reason"]
    problems = []
    for side in ("engine", "fio"):
        s = kv[side]
        for key in ("reported_p50_us", "syscall_p50_us", "timed_calls"):
            if len(s[key]) != kv["pairs"] or min(s[key]) <= 0:
                problems.append(f"{n}: kernel view {side}.{key} needs {kv['pairs']} positive values: {s[key]}")
        # The engine's run makes exactly the pass's timed calls; fio may add a few of its own.
        ops = ctx.get("ops_per_sample", 0)
        if any(c < ops or (side == "engine" and c != ops) or c > ops + 64 for c in s["timed_calls"]):
            problems.append(f"{n}: kernel view {side} timed {s['timed_calls']} calls, the pass has {ops}")
    # The engine's clock encloses each call, so its median cannot lie below the kernel's median of
    # the same calls (up to the histogram's bucket width, 1/64 of the value).
    for rep, sc in zip(kv["engine"]["reported_p50_us"], kv["engine"]["syscall_p50_us"]):
        if rep < sc * (1 - 1 / 64):
            problems.append(f"{n}: engine reported {rep} us, below the kernel's {sc} us for the same calls")
    for key in ("reported_ratio", "syscall_ratio"):
        if not kv.get(key) or kv[key] <= 0:
            problems.append(f"{n}: kernel view without a positive {key}")
    return problems


def check(path):
    report = json.load(open(path))
    problems = []
    benches = [b for b in report["benchmarks"] if b["name"].startswith("overlayio.")]
    names = {b["name"] for b in report["benchmarks"]}
    for nr in report["benchmarks_not_run"]:
        if nr["name"].startswith("overlayio."):
            problems.append(f"{nr['name']} did not run: {nr['reason']}")
    for bench in BENCHES:
        if not any(b["name"].startswith(f"overlayio.{bench}/") for b in benches):
            problems.append(f"overlayio.{bench}: no series")
    for b in benches:
        check_series(b, names, problems)
        check_trace(b, problems)
        bench = b["name"].split("/")[0].split(".")[1]
        if bench in DATA and b["context"].get("where") == "bare":
            f = fidelity_of(b)
            skipped = b["context"].get("fidelity_skipped")
            if f is None and not skipped:
                problems.append(f"{b['name']}: neither a fidelity figure nor why it is missing")
            if f is not None and (f["ratio"] <= 0 or f["tool"] != "fio" or not f["tool_version"] or not f["metric"]):
                problems.append(f"{b['name']}: incomplete fidelity {f}")
            if f is not None:
                problems += fidelity_round_problems(b)
                problems += kernel_view_problems(b)
                if b["context"].get("fio", {}).get("runs") != len(b["samples"]):
                    problems.append(f"{b['name']}: fio ran {b['context'].get('fio', {}).get('runs')} times "
                                    f"for {len(b['samples'])} rounds")
        if bench in DATA and not b.get("sampled_in_rounds"):
            problems.append(f"{b['name']}: data series not sampled in rounds")
        if bench in DATA and b["context"].get("where") == "container" and b["baseline"] is None:
            problems.append(f"{b['name']}: container series without its bare baseline")
    for p in problems:
        print("FAIL", p)
    print(f"{len(benches)} overlayio series checked, {len(problems)} problems")
    return not problems


if __name__ == "__main__":
    sys.exit(0 if all(check(p) for p in sys.argv[1:]) else 1)
