#!/usr/bin/env bash
# `ctbench run --vm` with a bench suite: the benches run inside a qemu guest (TCG here, KVM where it
# works) whose /run is an ext4 filesystem on the launcher's virtio-blk scratch disk; every series
# must come back with positive samples and labelled with the accelerator that ran (a TCG figure
# says it is no KVM baseline), the report must be schema-valid, and nothing may be left on the host.
set -u
source "$(dirname "$0")/vm_test_lib.sh"
filter="${CTBENCH_VM_BENCH_FILTER:-^start\.namespace}"
vm_test_setup vm-bench

start=$(date +%s)
# Bounded inside the test's own timeout, so a hung guest is reported by ctbench (cli_vm_cgroup.sh).
"$CTBENCH" run --vm --suite bench --filter "$filter" --repetitions 3 --boot-timeout 120 --vm-timeout 420 \
  --format json --output "$tmp/report.json" >"$tmp/out.txt" 2>&1
rc=$?
echo "guest bench run ($filter): exit $rc in $(( $(date +%s) - start )) s"
cat "$tmp/out.txt"
vm_test_require_report

python3 - "$tmp/report.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
g = r["run"].get("guest")
bad = []
if not g:
    bad.append("run.guest missing")
else:
    if g["accel"] not in ("kvm", "tcg"): bad.append("accel " + g["accel"])
    if g["accel"] == "tcg" and "not a KVM baseline" not in g["accel_note"]: bad.append("TCG not labelled")
    if not g.get("scratch", "").startswith("virtio-blk"): bad.append("guest scratch is not the virtio disk: " + g.get("scratch", "-"))
if not r["benchmarks"]: bad.append("no benchmark series came back")
for b in r["benchmarks"]:
    side = b["context"].get("guest", {})
    if side.get("side") != "guest" or side.get("accel") != (g or {}).get("accel"):
        bad.append(b["name"] + " not labelled with the guest's accelerator")
    if side.get("accel") == "tcg" and "not a KVM baseline" not in side.get("accel_note", ""):
        bad.append(b["name"] + ": TCG figure without its note")
    if min(b["samples"]) <= 0: bad.append(b["name"] + " has a non-positive sample")
    print(f'{b["name"]:50} {b["median"]:10.3f} {b["unit"]}  ratio {b["ratio"]}')
for n in r["benchmarks_not_run"]:
    print(f'not run: {n["name"]}: {n["reason"]}')
    if n["error"]: bad.append(n["name"] + " broke: " + n["reason"])
if bad:
    print("FAIL", *bad, sep="\n  ")
    sys.exit(1)
PY
[ "$rc" = 0 ] || { echo "FAIL exit $rc"; exit 1; }
vm_test_nothing_left
echo "ok"
