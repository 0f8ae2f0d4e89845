#!/usr/bin/env bash
# Failure paths of the guest's virtio-net: while the host pushes a TCP stream into the guest,
# 1. qemu is killed (SIGKILL, by the pid in the run's state dir): the run ends with exit 1, the
#    guest listed as broken (`vm@vm`, "killed by signal 9"), and no qemu, state dir, tap or bridge
#    is left;
# 2. the ctbench run itself is killed (SIGKILL): qemu dies with it (PDEATHSIG), the tap and bridge
#    stay, and the next cleanup (`ctbench doctor --cleanup`, which every run does first) removes them.
# 3. a guest that says its NIC is ready but serves nothing and hangs: the host's client fails, the
#    command deadline ends the guest, exit 1, and again nothing is left.
set -u
source "$(dirname "$0")/vm_test_lib.sh"
vm_test_setup vm-net-kill
fail() { echo "FAIL $*"; exit 1; }

# Bytes the host has sent into the guest's tap, 0 while the tap does not exist.
tap_tx() { cat "/sys/class/net/ctbgtap$1/statistics/tx_bytes" 2>/dev/null || echo 0; }

# start_run OUTPUT: the run in the background (pid in $run); returns once the host is streaming into
# the guest (a MiB through the tap), bounded by 240 s; fails if the run ends first.
start_run() {
  vm_test_wait_unlocked
  "$CTBENCH" run --suite bench --filter '^veth\.tcp_stream$' --repetitions 3 --baseline vm \
    --format json --output "$1.json" >"$1.txt" 2>&1 &
  run=$!
  local i
  for i in $(seq 1 2400); do
    kill -0 "$run" 2>/dev/null || { cat "$1.txt"; fail "the run ended before the host sent traffic to the guest"; }
    [ "$(tap_tx "$run")" -gt 1048576 ] && return 0
    sleep 0.1
  done
  kill -9 "$run"
  fail "no traffic into the guest's tap ctbgtap$run within 240 s"
}

# wait_gone PID SECONDS: bounded wait for a process to end.
wait_gone() {
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Our host-side clients to the guest end on their own once it is gone (their I/O timeout: 10 s).
no_clients() {
  local i p left
  for i in $(seq 1 300); do
    left=""
    for p in /proc/[0-9]*; do
      tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q 'netbench-client .*198\.19\.252\.2' && left="$left ${p#/proc/}"
    done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  fail "host-side netbench clients to the guest left:$left"
}

# 1. qemu killed mid-stream.
start_run "$tmp/qemu-killed"
qemu=$(cat "/run/ctbench/vm-run-$run/qemu.pid") || fail "no qemu pidfile in /run/ctbench/vm-run-$run"
tr '\0' ' ' <"/proc/$qemu/cmdline" | grep -q "ifname=ctbgtap$run" || fail "pid $qemu is not the run's qemu"
kill -9 "$qemu"
wait_gone "$run" 180 || { kill -9 "$run"; fail "the run did not end within 180 s of its qemu's death"; }
wait "$run"; rc=$?
[ "$rc" = 1 ] || { cat "$tmp/qemu-killed.txt"; fail "qemu killed: exit $rc, want 1"; }
python3 - "$tmp/qemu-killed.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
broken = [n for n in r["benchmarks_not_run"] if n["name"] == "vm@vm" and n["error"]]
if not broken or "killed by signal 9" not in broken[0]["reason"]:
    print("FAIL the killed guest is not reported as broken by signal 9:", r["benchmarks_not_run"]); sys.exit(1)
if any(b["name"].endswith("@vm") for b in r["benchmarks"]):
    print("FAIL figures from a guest that was killed"); sys.exit(1)
print("ok   qemu killed mid-stream:", broken[0]["reason"].splitlines()[0][:150])
PY
no_clients
vm_test_nothing_left
vm_test_no_guest_net

# 2. the run killed mid-stream: qemu goes with it; its links wait for the next cleanup.
start_run "$tmp/run-killed"
qemu=$(cat "/run/ctbench/vm-run-$run/qemu.pid") || fail "no qemu pidfile in /run/ctbench/vm-run-$run"
kill -9 "$run"
wait "$run" 2>/dev/null
wait_gone "$qemu" 30 || fail "qemu $qemu outlived the run that started it"
ip link show "ctbgtap$run" >/dev/null 2>&1 || fail "the killed run's tap is already gone: nothing for the cleanup to prove"
no_clients
"$CTBENCH" doctor --cleanup >"$tmp/cleanup.txt" 2>&1 || { cat "$tmp/cleanup.txt"; fail "doctor --cleanup failed"; }
grep -q "ctbgtap$run" "$tmp/cleanup.txt" && grep -q "ctbgbr$run" "$tmp/cleanup.txt" ||
  { cat "$tmp/cleanup.txt"; fail "cleanup did not list the killed run's tap and bridge"; }
echo "ok   run killed mid-stream: qemu $qemu gone with it; cleanup removed ctbgtap$run and ctbgbr$run"
vm_test_nothing_left
vm_test_no_guest_net

# 3. a guest that lies about its NIC, then hangs.
vm_test_make_initrd "$tmp/liar.img" 'echo "CTBENCH-GUEST-BOOTED kernel=test"; echo "CTBENCH-GUEST-NET ready addr=198.19.252.2 (not really)"; while :; do /bin/busybox sleep 1; done'
vm_test_wait_unlocked
"$CTBENCH" run --suite bench --filter '^veth\.tcp_rr$' --repetitions 1 --baseline vm --initrd "$tmp/liar.img" \
  --vm-timeout 15 --format json --output "$tmp/liar.json" >"$tmp/liar.txt" 2>&1
rc=$?
[ "$rc" = 1 ] || { cat "$tmp/liar.txt"; fail "hanging guest: exit $rc, want 1"; }
python3 - "$tmp/liar.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
broken = [n for n in r["benchmarks_not_run"] if n["name"] == "vm@vm" and n["error"]]
if not broken or "did not finish within 15 s" not in broken[0]["reason"]:
    print("FAIL the hanging guest is not reported as past its deadline:", r["benchmarks_not_run"]); sys.exit(1)
print("ok   guest hangs after a false NIC line:", broken[0]["reason"].splitlines()[0][:150])
PY
no_clients
vm_test_nothing_left
vm_test_no_guest_net
echo "ok (${SECONDS} s, waits for the run lock included)"
