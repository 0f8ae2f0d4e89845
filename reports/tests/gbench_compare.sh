#!/usr/bin/env bash
# The gbench format read by its real consumer: Google Benchmark's compare.py (Debian's
# libbenchmark-tools) compares two ctbench outputs, and its U test agrees with ctbench compare.
set -u
compare_py=/usr/share/benchmark/compare.py
[ -f "$compare_py" ] || { echo "SKIP: $compare_py missing (apt-get install libbenchmark-tools)"; exit 77; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$CTBENCH" report "$FIXTURES/base.json" --format gbench --output "$tmp/base.gbench.json" || exit 1
"$CTBENCH" report "$FIXTURES/slower.json" --format gbench --output "$tmp/slower.gbench.json" || exit 1
"$CTBENCH" compare --format json "$FIXTURES/base.json" "$FIXTURES/slower.json" >"$tmp/ctbench.json"
/usr/bin/python3 "$compare_py" --no-color -d "$tmp/compare.json" benchmarks "$tmp/base.gbench.json" "$tmp/slower.gbench.json" || exit 1
/usr/bin/python3 - "$tmp/compare.json" "$tmp/ctbench.json" "$tmp/base.gbench.json" <<'PY'
import json, sys
gb = {x["name"]: x for x in json.load(open(sys.argv[1]))}
ours = {x["name"]: x for x in json.load(open(sys.argv[2]))["benchmarks"]}
src = json.load(open(sys.argv[3]))
names = {b["name"] for b in src["benchmarks"]}
assert names == {"start.lifecycle/ctbench-runtime", "start.lifecycle/crun"}, names  # MiB/s is not a time
assert any("veth.throughput/bridge" in o for o in src["context"]["ctbench_omitted"])
for name in names:
    g, o = gb[name], ours[name]
    assert len(g["measurements"]) == 20, len(g["measurements"])  # one iteration entry per sample
    assert g["utest"]["nr_of_repetitions"] == 20 and g["utest"]["nr_of_repetitions_other"] == 20
    p = g["utest"]["time_pvalue"]
    assert abs(p - o["u_test"]["p_value"]) < 1e-9, (name, p, o["u_test"]["p_value"])
    print(f"{name}: compare.py p={p:.6g}, ctbench p={o['u_test']['p_value']:.6g}")
assert gb["start.lifecycle/ctbench-runtime"]["utest"]["time_pvalue"] < 0.05
PY
