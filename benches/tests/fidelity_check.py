"""Shared by check_overlayio.py and check_veth.py: a series' fidelity figure is the median of
per-round ratios (engine sample / tool sample of the same round) and carries its rounds in
context.fidelity_rounds. No timing thresholds: only that the figures are present, positive and
consistent with each other."""
import math
import statistics


def fidelity_round_problems(b):
    n, f = b["name"], b.get("fidelity")
    if not f:
        return []
    problems = []
    if not f.get("tool_version"):
        problems.append(f"{n}: fidelity without the tool's version")
    rounds = b["context"].get("fidelity_rounds")
    if not rounds:
        return problems + [f"{n}: fidelity without context.fidelity_rounds"]
    ratios = rounds.get("per_round_ratios", [])
    if rounds.get("rounds") != len(b["samples"]) or len(ratios) != len(b["samples"]):
        problems.append(f"{n}: {rounds.get('rounds')} rounds, {len(ratios)} ratios for {len(b['samples'])} samples")
    if not ratios or any(not math.isfinite(r) or r <= 0 for r in ratios):
        return problems + [f"{n}: per-round ratios must be positive: {ratios}"]
    if not b.get("sampled_in_rounds"):
        problems.append(f"{n}: fidelity paired by round but the series is not sampled_in_rounds")
    med = statistics.median(ratios)
    if not math.isclose(med, f["ratio"], rel_tol=1e-9) or not math.isclose(med, rounds["ratio"], rel_tol=1e-9):
        problems.append(f"{n}: fidelity ratio {f['ratio']} is not the median of the per-round ratios ({med})")
    if not (rounds["ci_low"] <= rounds["ratio"] <= rounds["ci_high"]) or not (0 < rounds["ci_coverage"] <= 1):
        problems.append(f"{n}: interval {rounds['ci_low']}..{rounds['ci_high']} does not hold the ratio {rounds['ratio']}")
    latency = rounds.get("target") == "within 5 %"
    met = abs(med - 1) <= 0.05 + 1e-12 if latency else med >= 0.95 - 1e-12
    if rounds.get("target_met") is not met or b["context"].get("fidelity_target_met") is not met:
        problems.append(f"{n}: target_met {rounds.get('target_met')} does not follow from ratio {med} ({rounds.get('target')})")
    return problems
