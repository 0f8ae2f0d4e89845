#!/usr/bin/env bash
# `ctbench run --vm --suite cgroup`: boots Debian's cloud kernel (TCG here, KVM where it works)
# with ctbench inside a pure cgroup v2 guest and requires every cgroup v2 enforcement case to
# pass there (on this hybrid host they skip), a schema-valid report marked guest-side, and
# nothing left on the host.
set -u
source "$(dirname "$0")/vm_test_lib.sh"
vm_test_setup vm-cgroup

# The guest's suite takes about 15 s; bounds well inside the test's own 600 s, so a guest that
# hangs is killed by ctbench, whose error says where: the case in progress, the guest kernel's
# first report and the vCPUs' state (benches/baselines/hang_report.hpp). A meson timeout would
# kill the script and show nothing.
guest_run() {
  local start=$(date +%s)
  "$CTBENCH" run --vm --suite cgroup --boot-timeout 120 --vm-timeout 300 --format json --output "$tmp/report.json" \
    >"$tmp/out.txt" 2>&1
  rc=$?
  echo "guest run: exit $rc in $(( $(date +%s) - start )) s"
  cat "$tmp/out.txt"
}
guest_run
# The TCG guest has hung twice in CI (2026-12-07 and 2026-12-08: a soft lockup on CPU#0 while
# CPU#1's timers stayed silent), twice in the CI runs of two days and never in the runs by hand
# in between. Such a hang is an emulator or guest-kernel fault, not a verdict on a cgroup case: it is
# shown above and the run is tried once more. Two hangs in a row fail the test, as does any
# other failure at once.
if [ "$rc" = 2 ] && grep -q "the guest's command did not finish within" "$tmp/out.txt"; then
  echo "NOTE the guest hung (above); running it once more"
  vm_test_nothing_left
  rm -f "$tmp/report.json"
  guest_run
fi
vm_test_require_report

# The v2 enforcement cases must pass in the guest (swap needs a swap device; the guest has none).
python3 - "$tmp/report.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
g = r["run"].get("guest")
bad = []
if not g: bad.append("run.guest missing")
else:
    if g["accel"] not in ("kvm", "tcg"): bad.append("accel " + g["accel"])
    if g["accel"] == "tcg" and "not a KVM baseline" not in g["accel_note"]: bad.append("TCG not labelled")
if r["run"]["cgroup_mode"] != "v2": bad.append("guest cgroup mode " + r["run"]["cgroup_mode"])
must_pass = ["cgroup.memory.oom_kill", "cgroup.memory.high_throttles", "cgroup.cpu.quota", "cgroup.cpu.weight_ratio",
             "cgroup.cpuset.pins", "cgroup.pids.limit", "cgroup.freezer.stops_and_resumes", "cgroup.devices.denied",
             "cgroup.blkio.throttle", "cgroup.hugetlb.limit",
             # the v2 BPF device program, and cgroupsPath placed where the spec says on a v2 host
             "cgroup.devices.spec_nodes", "cgroup.devices.unlisted_refused", "cgroup.path.absolute",
             "cgroup.path.relative"]
seen = {c["id"]: c for c in r["conformance"]}
for cid in must_pass:
    c = seen.get(cid)
    if not c: bad.append(cid + " not run"); continue
    if c["outcome"] != "pass": bad.append(f'{cid}: {c["outcome"]}: {c["reason"]}')
for c in r["conformance"]:
    if c["evidence"].get("guest", {}).get("side") != "guest": bad.append(c["id"] + " not marked guest-side")
for c in r["conformance"]:
    print(f'{c["outcome"]:5} {c["id"]} {c["duration_seconds"]:.1f}s {c["reason"][:100]}')
if bad:
    print("FAIL", *bad, sep="\n  ")
    sys.exit(1)
PY
[ "$rc" = 0 ] || [ "$rc" = 1 ] || { echo "FAIL exit $rc"; exit 1; }
vm_test_nothing_left
echo "ok"
