#!/usr/bin/env bash
# `ctbench run --vm` failure paths: each a clear error naming the cause, exit 2, and nothing left
# (no qemu process, no state dir under /run/ctbench). Missing kernel, a file that is no kernel,
# a bad initrd, a guest that never reaches userspace (boot deadline) and one that never sends a
# report (command deadline; the message carries the last console lines).
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "skipping: qemu-system-x86_64 not installed"; exit 77; }
kernel="$(ls /boot/vmlinuz-*cloud* 2>/dev/null | sort -V | tail -1)"
[ -n "$kernel" ] || { echo "skipping: no cloud kernel in /boot (scripts/setup.sh installs linux-image-cloud-amd64)"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-vm-errors.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }

# qemu guests of ours and run state dirs (none may survive a failed run).
leftovers() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- '-pidfile /run/ctbench/vm-run-' && echo "process ${p#/proc/}"
  done
  ls -d /run/ctbench/vm-run-* /run/ctbench/vm-probe-* 2>/dev/null
}

# $1: name, $2: text the error must contain, rest: ctbench arguments
expect_error() {
  local name="$1" want="$2"; shift 2
  local out rc
  out="$("$CTBENCH" run "$@" 2>&1)"; rc=$?
  if [ "$rc" != 2 ]; then fail "$name: exit $rc, want 2: $out"; return; fi
  if ! grep -qF -- "$want" <<<"$out"; then fail "$name: error does not say '$want': $out"; return; fi
  local left; left="$(leftovers)"
  if [ -n "$left" ]; then fail "$name: left behind: $left"; return; fi
  ok "$name: $(head -1 <<<"$out" | cut -c1-160)"
}

expect_error "missing kernel" "/nonexistent/vmlinuz" --suite cgroup --vm --kernel /nonexistent/vmlinuz
echo "not a kernel" >"$tmp/vmlinuz"
expect_error "not a kernel" "not an x86 bzImage" --suite cgroup --kernel "$tmp/vmlinuz"
echo "garbage" >"$tmp/bad.img"
expect_error "bad initrd" "not an initramfs" --suite cgroup --vm --initrd "$tmp/bad.img"
expect_error "unknown suite" "nosuch" --suite nosuch --vm

# Initramfs images whose /init misbehaves (vm_test_lib.sh).
source "$(dirname "$0")/vm_test_lib.sh"
make_initrd() { vm_test_make_initrd "$@"; }
# Reaches userspace, then hangs: the command deadline ends it, with the console's last lines,
# the case in progress (from the progress line ctbench redraws on the guest's console) and where
# the vCPUs were.
make_initrd "$tmp/hang.img" 'echo "CTBENCH-GUEST-BOOTED kernel=test"; printf "\r\033[K[2/15] 1 s | 1 pass | cgroup.test.hangs"; echo; echo "ctbench-test: hanging on purpose"; while :; do /bin/busybox sleep 1; done'
expect_error "no report (command deadline)" "ctbench-test: hanging on purpose" \
  --suite cgroup --vm --initrd "$tmp/hang.img" --vm-timeout 5 --boot-timeout 120
expect_error "command deadline names the case in progress" "the guest's ctbench was at: [2/15] 1 s | 1 pass | cgroup.test.hangs" \
  --suite cgroup --vm --initrd "$tmp/hang.img" --vm-timeout 5 --boot-timeout 120
expect_error "command deadline says where the vCPUs were" "; vCPUs: CPU#0" \
  --suite cgroup --vm --initrd "$tmp/hang.img" --vm-timeout 5 --boot-timeout 120
# Never says it booted: the boot deadline ends it.
make_initrd "$tmp/silent.img" 'while :; do /bin/busybox sleep 1; done'
expect_error "never boots (boot deadline)" "did not reach userspace within the boot deadline" \
  --suite cgroup --vm --initrd "$tmp/silent.img" --boot-timeout 8
# Powers off without a report.
make_initrd "$tmp/noreport.img" 'echo "CTBENCH-GUEST-BOOTED kernel=test"; /bin/busybox poweroff -f'
expect_error "powers off without a report" "qemu exited" --suite cgroup --vm --initrd "$tmp/noreport.img"

[ "$fails" = 0 ] || exit 1
