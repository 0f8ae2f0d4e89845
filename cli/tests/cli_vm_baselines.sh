#!/usr/bin/env bash
# `ctbench run --suite bench --baseline bare,container,vm`: the host's series and the guest's
# (`<series>@vm`) in one report, each guest series with the host's series of the same workload as
# its baseline and a positive ratio, labelled with the accelerator that ran, its in-guest ratio
# kept in the context, the guest's boot time as a series; bad --baseline input refused with exit 2
# naming the option; nothing left on the host.
set -u
source "$(dirname "$0")/vm_test_lib.sh"
vm_test_setup vm-baselines
fail() { echo "FAIL $*"; exit 1; }

for bad in "--suite bench --baseline lxc" "--suite bench --baseline ," "--suite conformance --baseline vm"; do
  # shellcheck disable=SC2086
  "$CTBENCH" run $bad >"$tmp/bad.txt" 2>&1
  rc=$?
  [ "$rc" = 2 ] || fail "'$bad' exited $rc, not 2"
  grep -q -- "--baseline" "$tmp/bad.txt" || fail "'$bad' did not name --baseline: $(cat "$tmp/bad.txt")"
done

start=$(date +%s)
"$CTBENCH" run --suite bench --filter '^start\.namespace' --repetitions 3 --baseline bare,container,vm \
  --format json --output "$tmp/report.json" >"$tmp/out.txt" 2>&1 &
runpid=$!
# While the guest part runs (a qemu child of the run), the run lock is held: a cleanup then would
# sweep the guest. (The run now keeps its own lock from the host part on, instead of releasing
# it while the guest image is prepared; that window is too short for a test to hit reliably.)
guest_seen=0
for _ in $(seq 1 1200); do
  for c in $(cat /proc/$runpid/task/*/children 2>/dev/null); do
    case "$(cat /proc/$c/comm 2>/dev/null)" in qemu*) guest_seen=1 ;; esac
  done
  [ $guest_seen = 1 ] || ! kill -0 $runpid 2>/dev/null && break
  sleep 0.1
done
if [ $guest_seen = 1 ]; then
  "$CTBENCH" doctor --cleanup >"$tmp/cleanup.txt" 2>&1 && fail "doctor --cleanup ran during the guest part: the run lock was released"
  grep -q "another ctbench run" "$tmp/cleanup.txt" || fail "cleanup during the guest part: $(cat "$tmp/cleanup.txt")"
  echo "ok   the run lock is held through the guest part"
fi
wait $runpid
rc=$?
[ $guest_seen = 1 ] || fail "never saw the guest's qemu (run exit $rc): $(tail -5 "$tmp/out.txt")"
echo "host + guest bench run: exit $rc in $(( $(date +%s) - start )) s"
vm_test_require_report
python3 - "$tmp/report.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
g = r["run"].get("guest")
bad = []
if not g: bad.append("run.guest missing: the VM that ran the @vm series is not recorded")
series = {b["name"]: b for b in r["benchmarks"]}
host = [n for n in series if not n.endswith("@vm")]
vm = [n for n in series if n.endswith("@vm")]
if not host: bad.append("no host series")
for n in host:
    if "guest" in series[n]["context"]: bad.append(n + ": a host series labelled guest-side")
    if n + "@vm" not in series: bad.append(n + ": no guest series beside it")
for n in vm:
    b = series[n]
    side = b["context"].get("guest", {})
    if side.get("side") != "guest" or side.get("accel") not in ("kvm", "tcg"): bad.append(n + ": not labelled with the accelerator")
    if side.get("accel") == "tcg" and "not a KVM baseline" not in side.get("accel_note", ""): bad.append(n + ": TCG figure without its note")
    if min(b["samples"]) <= 0: bad.append(n + ": non-positive sample")
    if n.startswith("start.vm-boot/"): continue
    if b["baseline"] != n[:-3]: bad.append(f"{n}: baseline {b['baseline']}, not the host's {n[:-3]}")
    if not (b["ratio"] and b["ratio"] > 0): bad.append(n + ": no VM/host ratio")
    if series[n[:-3]]["baseline"] and "in_guest_ratio" not in b["context"]: bad.append(n + ": in-guest ratio lost")
    print(f'{n[:-3]:40} host {series[n[:-3]]["median"]:9.3f}  vm {b["median"]:9.3f} {b["unit"]}  vm/host {b["ratio"]:.2f}')
boot = series.get("start.vm-boot/to-userspace@vm")
if not boot: bad.append("no boot-to-userspace series")
else: print(f'guest boot to userspace: {boot["median"]:.0f} ms ({boot["context"]["guest"]["accel"]})')
for n in r["benchmarks_not_run"]:
    if n["error"]: bad.append(n["name"] + " broke: " + n["reason"])
if bad:
    print("FAIL", *bad, sep="\n  ")
    sys.exit(1)
PY
[ "$rc" = 0 ] || { cat "$tmp/out.txt"; fail "exit $rc"; }
vm_test_nothing_left
echo "ok"
