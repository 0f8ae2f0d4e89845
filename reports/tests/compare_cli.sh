#!/usr/bin/env bash
# ctbench compare on generated reports: a 10 % slower start latency is a regression (exit 1),
# an A/A pair is not (exit 0); the three output formats carry the same verdict.
set -u
fails=0
bad() { echo "FAIL $*"; fails=$((fails+1)); }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

"$CTBENCH" compare "$FIXTURES/base.json" "$FIXTURES/slower.json" >"$tmp/ab.txt"; rc=$?
cat "$tmp/ab.txt"
[ "$rc" = 1 ] || bad "A/B exit $rc, want 1"
grep -q 'start.lifecycle/ctbench-runtime .* REGRESSION' "$tmp/ab.txt" || bad "A/B text lacks the regression"
grep -q '^1 regression ' "$tmp/ab.txt" || bad "A/B: want exactly 1 regression"

"$CTBENCH" compare "$FIXTURES/base.json" "$FIXTURES/same.json" >"$tmp/aa.txt"; rc=$?
cat "$tmp/aa.txt"
[ "$rc" = 0 ] || bad "A/A exit $rc, want 0"
grep -q '^no regression' "$tmp/aa.txt" || bad "A/A text lacks 'no regression'"

"$CTBENCH" compare --format json "$FIXTURES/base.json" "$FIXTURES/slower.json" >"$tmp/ab.json"
/usr/bin/python3 - "$tmp/ab.json" <<'PY' || bad "json view"
import json, sys
c = json.load(open(sys.argv[1]))
b = {x["name"]: x for x in c["benchmarks"]}
lib = b["start.lifecycle/ctbench-runtime"]
assert c["regression"] and c["regressions"] == 1, c["regressions"]
assert lib["regression"] and lib["u_test"]["p_value"] < 0.05, lib
assert 0.05 < lib["change"] < 0.2, lib["change"]
assert lib["ratio"]["low"] < 1 + lib["change"] < lib["ratio"]["high"], lib["ratio"]
assert not b["veth.throughput/bridge"]["regression"]
print("json ok: change %+.1f%%, p %.2g" % (lib["change"] * 100, lib["u_test"]["p_value"]))
PY
"$CTBENCH" compare --format markdown "$FIXTURES/base.json" "$FIXTURES/slower.json" >"$tmp/ab.md"
grep -q '^| `start.lifecycle/ctbench-runtime` .*\*\*REGRESSION\*\*' "$tmp/ab.md" || bad "markdown lacks the regression row"
# Same inputs, same answer (the bootstrap is seeded).
"$CTBENCH" compare --format json "$FIXTURES/base.json" "$FIXTURES/slower.json" | cmp -s - "$tmp/ab.json" || bad "not deterministic"
# A stricter alpha or a larger threshold turns the verdict.
"$CTBENCH" compare --threshold 50 "$FIXTURES/base.json" "$FIXTURES/slower.json" >/dev/null; rc=$?
[ "$rc" = 0 ] || bad "--threshold 50: exit $rc, want 0"
"$CTBENCH" compare --alpha 0 "$FIXTURES/base.json" "$FIXTURES/slower.json" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || bad "--alpha 0: exit $rc, want 2"
"$CTBENCH" compare --format yaml "$FIXTURES/base.json" "$FIXTURES/slower.json" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || bad "--format yaml: exit $rc, want 2"
# --gate: a series it does not find is not gated (the regression goes), a bad expression is a usage error.
"$CTBENCH" compare --gate '^no-such-series$' "$FIXTURES/base.json" "$FIXTURES/slower.json" >"$tmp/gate.txt"; rc=$?
[ "$rc" = 0 ] && grep -q "not gated (--gate)" "$tmp/gate.txt" || bad "--gate excluding every series: exit $rc, want 0 and 'not gated'"
"$CTBENCH" compare --gate '(' "$FIXTURES/base.json" "$FIXTURES/slower.json" >/dev/null 2>"$tmp/gate.err"; rc=$?
[ "$rc" = 2 ] && grep -q -- "--gate" "$tmp/gate.err" || bad "--gate '(': exit $rc, want 2 naming --gate: $(cat "$tmp/gate.err")"
[ "$fails" = 0 ]
