#!/usr/bin/env bash
# Host <-> guest traffic over virtio-net: `ctbench run --baseline bare,container,vm` with a veth
# bench selected boots a TCG (or KVM) guest with a virtio-net NIC on a tap on a ctbench bridge and
# runs the veth engine's workload from the host to the guest. The report must match the schema and
# carry veth.tcp_rr/host-guest-virtio@vm (and its p99, p99.9) with positive samples, the unit, the
# accelerator that ran (a TCG figure saying it is no KVM baseline), the host's netns-veth series of
# the same workload as baseline and a positive ratio; nothing may be left on the host (no qemu,
# state dir, tap or bridge). Minimal repetitions: the figures are not judged, only their shape.
set -u
source "$(dirname "$0")/vm_test_lib.sh"
vm_test_setup vm-net
fail() { echo "FAIL $*"; exit 1; }

vm_test_wait_unlocked
start=$(date +%s)
"$CTBENCH" run --suite bench --filter '^veth\.tcp_rr$' --repetitions 2 --baseline bare,container,vm \
  --format json --output "$tmp/report.json" >"$tmp/out.txt" 2>&1
rc=$?
echo "host + guest run with virtio-net: exit $rc in $(( $(date +%s) - start )) s"
vm_test_require_report
python3 - "$tmp/report.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
series = {b["name"]: b for b in r["benchmarks"]}
accel = (r["run"].get("guest") or {}).get("accel")
bad = []
if accel not in ("kvm", "tcg"): bad.append(f"run.guest.accel is {accel!r}")
for suffix in ("", "/p99", "/p99.9"):
    name = f"veth.tcp_rr/host-guest-virtio{suffix}@vm"
    b = series.get(name)
    if not b:
        bad.append(name + ": missing")
        continue
    ctx = b["context"]
    if b["unit"] != "us": bad.append(f"{name}: unit {b['unit']!r}, not us")
    if len(b["samples"]) != 2 or min(b["samples"]) <= 0: bad.append(f"{name}: samples {b['samples']}")
    side = ctx.get("guest", {})
    if side.get("side") != "guest" or side.get("accel") != accel: bad.append(f"{name}: accel label {side}")
    if accel == "tcg" and "not a KVM baseline" not in side.get("accel_note", ""): bad.append(name + ": TCG figure without its note")
    want = f"veth.tcp_rr/netns-veth{suffix}"
    if b.get("baseline") != want: bad.append(f"{name}: baseline {b.get('baseline')}, not {want}")
    if want not in series: bad.append(f"{want}: the host's baseline series is missing")
    if not (b.get("ratio") and b["ratio"] > 0): bad.append(name + ": no ratio against the host's veth")
    if "virtio-net-device" not in ctx.get("device", ""): bad.append(f"{name}: device {ctx.get('device')!r}")
    if "tap ctbgtap" not in ctx.get("what", "") or "bridge ctbgbr" not in ctx.get("what", ""):
        bad.append(f"{name}: tap and bridge not named: {ctx.get('what')!r}")
    if not ctx.get("guest_nic", "").startswith("ready"): bad.append(f"{name}: guest NIC line {ctx.get('guest_nic')!r}")
    if not bad:
        base = series[want]
        print(f"{name:42} {b['median']:9.1f} us  host {want} {base['median']:8.1f} us  ratio {b['ratio']:.2f} ({accel})")
for n in r["benchmarks_not_run"]:
    if n["error"]: bad.append(n["name"] + " broke: " + n["reason"])
if bad:
    print("FAIL", *bad, sep="\n  ")
    sys.exit(1)
PY
[ "$rc" = 0 ] || { cat "$tmp/out.txt"; fail "exit $rc"; }
vm_test_nothing_left
vm_test_no_guest_net
echo "ok"
