#!/usr/bin/env bash
# `meson test --suite bench`: the start benches (lifecycle, churn, namespace) with few repetitions gives sane, traced series
# (benches/tests/check_bench.py), a schema-valid report, and leaves nothing behind: no ctbench
# object (`ctbench doctor --cleanup`) and no BPF program or link of ours (bpftool).
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-bench.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
source "$(dirname "$0")/bench_lib.sh"
run_locked "$CTBENCH" run --suite start --repetitions 3 --format json --output "$tmp/start.json"
[ "$rc" = 0 ] || { echo "FAIL ctbench run --suite start exited $rc"; cat "$tmp/err"; fails=$((fails+1)); }
python3 "$VALIDATE" "$SCHEMA" "$tmp/start.json" || { echo "FAIL report does not match the schema"; fails=$((fails+1)); }
"$CHECK" --traced start.lifecycle/ "$tmp/start.json" || fails=$((fails+1))
# The floors: the kernel floor and the minimal container in the start helper, the minimal
# container as a static one-shot CLI in churn (the most any runtime CLI can sustain here).
python3 - "$tmp/start.json" <<'PY' || fails=$((fails+1))
import json, sys
b = {x["name"]: x for x in json.load(open(sys.argv[1]))["benchmarks"]}
for n in ("start.churn/minimal-container-x1", "start.churn/minimal-container-x8"):
    assert n in b, "missing " + n
    assert b[n]["unit"] == "containers/s" and b[n]["median"] > 0, b[n]
    assert b[n]["baseline"] == n.replace("minimal-container", "crun"), b[n].get("baseline")
assert "ctbench-start-helper" in b["start.lifecycle/kernel-floor"]["context"]["process"]
# What an idle CPU does is recorded beside the other noise sources (a driver name, or "none ...").
idle = b["start.lifecycle/kernel-floor"]["context"]["host_noise"]["cpu_idle"]
assert isinstance(idle, str) and idle, idle
PY
left="$("$CTBENCH" doctor --cleanup)"
[ "$left" = "nothing to clean up" ] || { echo "FAIL left behind: $left"; fails=$((fails+1)); }
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
for what in prog link; do
  # Programs are freed after an RCU grace period: bounded wait.
  for _ in $(seq 1 50); do "$bpftool" "$what" list | grep -q ctb_st_ || break; sleep 0.1; done
  if "$bpftool" "$what" list | grep -q ctb_st_; then echo "FAIL bpftool $what list still shows ctb_st_"; fails=$((fails+1)); fi
done
# `ctbench trace` around a command, JSON out, and a clear refusal of a failing command.
"$CTBENCH" trace --format json -- /bin/true >"$tmp/trace.json" || { echo "FAIL ctbench trace -- /bin/true"; fails=$((fails+1)); }
python3 - "$tmp/trace.json" <<'PY' || fails=$((fails+1))
import json, sys
t = json.load(open(sys.argv[1]))
assert t["tracer"]["events_seen"] > 0 and t["tracer"]["events_lost"] == 0, t["tracer"]
assert t["unattributed_share"] <= 0.05, t["unattributed_share"]
assert any(p["name"] == "startup" and p["on_cpu_ms"] > 0 for p in t["phases"]), t["phases"]
PY
"$CTBENCH" trace -- /bin/false 2>"$tmp/false.err"; rc=$?
[ "$rc" = 1 ] && grep -q "exited with status 1" "$tmp/false.err" || { echo "FAIL trace of a failing command: exit $rc: $(cat "$tmp/false.err")"; fails=$((fails+1)); }
"$CTBENCH" trace -- /nonexistent/cmd 2>"$tmp/missing.err"; rc=$?
[ "$rc" = 2 ] || { echo "FAIL trace of a missing command: exit $rc"; fails=$((fails+1)); }
[ "$fails" = 0 ]
