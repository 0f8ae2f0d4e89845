#!/usr/bin/env bash
# The mount namespace is optional, or joined by path (root). Without one the container shares
# the runtime's mount namespace and its root changes by chroot (as runc does then); with a path
# it joins that namespace (proven by a tmpfs that exists only there) and chroots inside it.
# Neither adds a mount to the host's namespace.
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
spec_bundle "$B"
NS="/run/ctbench/mntns-oci-test-$$"
cleanup_ns() { umount "$NS" 2>/dev/null; rm -f "$NS"; }
trap 'finish; cleanup_ns' EXIT
uses mn-none mn-join
host_mnt="$(readlink /proc/self/ns/mnt)"
mounts_before="$(wc -l < /proc/self/mountinfo)"

# 1. No mount namespace.
edit_config "$B/config.json" "c['process']['args'] = ['/bin/sleep', '30']
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'mount']"
rt create --bundle "$B" mn-none >/dev/null 2>"$WORK/err" && ok "create without a mount namespace" || fail "create without mount ns: $(cat "$WORK/err")"
grep -q "mounts, maskedPaths" "$WORK/err" && ok "skipped mounts are announced" || fail "no warning: $(cat "$WORK/err")"
pid="$(rt state mn-none | json_field pid)"
[ "$(readlink /proc/"$pid"/ns/mnt)" = "$host_mnt" ] && ok "the container shares the runtime's mount namespace" || fail "mount ns differs"
[ "$(readlink /proc/"$pid"/root)" = "$B/rootfs" ] && ok "its root is the bundle's rootfs (chroot)" || fail "root: $(readlink /proc/"$pid"/root)"
rt start mn-none || fail "start mn-none"
out="$(rt exec mn-none /bin/ls / 2>&1)"
grep -qx bin <<<"$out" && ! grep -qx boot <<<"$out" && ok "exec sees the container's root" || fail "exec ls /: $out"
rt delete --force mn-none || fail "delete mn-none"
[ "$(wc -l < /proc/self/mountinfo)" = "$mounts_before" ] && ok "no mount added to the host" || fail "host mounts changed"

# 2. Joined by path: a persistent mount namespace with a tmpfs only it has.
mkdir -p /run/ctbench "$B/rootfs/only-there"
touch "$NS"
unshare --mount="$NS" --propagation private sh -c "mount -t tmpfs ctbench-test '$B/rootfs/only-there' && touch '$B/rootfs/only-there/marker'" || fail "make the namespace"
[ ! -e "$B/rootfs/only-there/marker" ] && ok "the marker is not in the host's namespace" || fail "marker visible on the host"
cp "$WORK/base.json" "$B/config.json"
edit_config "$B/config.json" "c['process']['args'] = ['/bin/sh', '-c', 'ls /only-there']
c['mounts'] = []
c['linux']['maskedPaths'] = []
c['linux']['readonlyPaths'] = []
c['linux']['namespaces'] = [n if n['type'] != 'mount' else {'type': 'mount', 'path': '$NS'} for n in c['linux']['namespaces']]"
out="$(rt run --bundle "$B" mn-join 2>&1)"; rc=$?
[ $rc = 0 ] && grep -qx marker <<<"$out" && ok "joined mount namespace: the container sees its tmpfs" || fail "joined: rc=$rc $out"
[ ! -e "$ROOT/mn-join" ] && ok "run removed the container" || fail "mn-join left"
cleanup_ns
[ "$(wc -l < /proc/self/mountinfo)" = "$mounts_before" ] && ok "no mount left on the host" || fail "host mounts changed after join"
[ "$fails" = 0 ]
