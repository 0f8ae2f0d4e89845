# Sourced by the tests that boot a guest (cli_vm_*.sh): what they need before they start, and the
# check that a guest run left nothing on the host.

# vm_test_setup NAME: exit 77 without root, qemu or a cloud kernel; a temp dir in $tmp, removed at exit.
vm_test_setup() {
  [ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
  command -v qemu-system-x86_64 >/dev/null || { echo "skipping: qemu-system-x86_64 not installed"; exit 77; }
  ls /boot/vmlinuz-*cloud* >/dev/null 2>&1 || { echo "skipping: no cloud kernel in /boot"; exit 77; }
  tmp="$(mktemp -d "/tmp/ctbench-$1.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
}

# vm_test_require_report: $tmp/report.json exists (else the run's output in $tmp/out.txt is shown)
# and matches the report schema.
vm_test_require_report() {
  [ -s "$tmp/report.json" ] || { cat "$tmp/out.txt"; echo "FAIL no report"; exit 1; }
  python3 "$VALIDATE" "$SCHEMA" "$tmp/report.json" || { echo "FAIL report does not match the schema"; exit 1; }
}

# vm_test_nothing_left: no qemu of a ctbench guest run and no run state dir.
vm_test_nothing_left() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- '-pidfile /run/ctbench/vm-run-' && { echo "FAIL qemu left: ${p#/proc/}"; exit 1; }
  done
  ls -d /run/ctbench/vm-run-* 2>/dev/null && { echo "FAIL state dir left"; exit 1; }
  return 0
}

# vm_test_wait_unlocked: wait (bounded: 10 min) until no other ctbench run or cleanup holds the run
# lock. On a shared machine another run may hold it, and a run refused by the lock proves nothing.
vm_test_wait_unlocked() {
  local i
  for i in $(seq 1 120); do
    flock -n /run/ctbench.lock true 2>/dev/null && return 0
    sleep 5
  done
  echo "FAIL /run/ctbench.lock held by another run for 10 minutes"; exit 1
}

# vm_test_no_guest_net: no bridge or tap of a guest run (ctbgbr*, ctbgtap*) and no qemu on one.
vm_test_no_guest_net() {
  local l p
  l="$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^ctbg(br|tap)')"
  [ -z "$l" ] || { echo "FAIL guest network links left: $l"; exit 1; }
  for p in /proc/[0-9]*; do
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- 'ifname=ctbgtap' && { echo "FAIL qemu on a guest tap left: ${p#/proc/}"; exit 1; }
  done
  return 0
}

# vm_test_make_initrd OUT BODY: an initramfs of busybox alone whose /init runs BODY (a guest that
# misbehaves on purpose), packed with busybox cpio.
vm_test_make_initrd() {
  local root="$tmp/root"
  rm -rf "$root"; mkdir -p "$root/bin" "$root/dev" "$root/proc"
  cp /bin/busybox "$root/bin/busybox"
  mknod "$root/dev/console" c 5 1
  printf '#!/bin/busybox sh\n%s\n' "$2" >"$root/init"; chmod 755 "$root/init"
  (cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$1"
}
