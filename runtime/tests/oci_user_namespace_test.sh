#!/usr/bin/env bash
# A user namespace mapping container root to a non-root host uid (0 -> 100000, size 65536; root).
# The init reaches the exec fifo and the state directory as the mapped user (the fifo is handed
# to 100000, the directory made searchable, as runc does), create and start succeed, the
# process is root inside and 100000 outside (a file it writes is owned by 100000 on the host).
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
make_bundle "$B"
chmod 1777 "$B/rootfs/tmp"
chmod 755 "$WORK"  # the mapped root must reach the bundle (mktemp -d makes it 0700), as with runc
(cd "$B" && "$RT" spec) || fail "spec"
edit_config "$B/config.json" "c['process']['args'] = ['/bin/sh', '-c', 'id -u > /tmp/inside; cat /proc/self/uid_map >> /tmp/inside; touch /tmp/made; sleep 30']
c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]"
uses un
rt create --bundle "$B" un >/dev/null 2>"$WORK/err" && ok "create with uid 0 -> 100000" || fail "create: $(grep -v ambient "$WORK/err")"
[ "$(status_of un)" = created ] && ok "state created" || fail "state: $(status_of un)"
[ "$(stat -c %u:%g "$ROOT/un/exec.fifo")" = 100000:100000 ] && ok "exec fifo handed to the mapped root" || fail "fifo owner $(stat -c %u:%g "$ROOT/un/exec.fifo")"
[ "$(stat -c %a "$ROOT/un")" = 711 ] && ok "state directory searchable (0711)" || fail "state dir mode $(stat -c %a "$ROOT/un")"
pid="$(rt state un | json_field pid)"
[ "$(awk '/^Uid:/{print $2}' /proc/"$pid"/status)" = 100000 ] && ok "the init runs as host uid 100000" || fail "init uid: $(grep Uid /proc/"$pid"/status)"
rt start un 2>"$WORK/err" && ok "start" || fail "start: $(cat "$WORK/err")"
for _ in $(seq 50); do [ -e "$B/rootfs/tmp/made" ] && break; sleep 0.1; done
[ "$(head -1 "$B/rootfs/tmp/inside" 2>/dev/null)" = 0 ] && ok "root inside the container" || fail "inside: $(cat "$B/rootfs/tmp/inside" 2>&1)"
grep -q "0 *100000 *65536" "$B/rootfs/tmp/inside" && ok "uid_map as configured" || fail "uid_map: $(cat "$B/rootfs/tmp/inside")"
[ "$(stat -c %u "$B/rootfs/tmp/made" 2>/dev/null)" = 100000 ] && ok "a file it makes belongs to 100000 on the host" || fail "owner of made: $(stat -c %u "$B/rootfs/tmp/made" 2>&1)"
rt delete --force un || fail "delete"
[ ! -e "$ROOT/un" ] && [ -z "$(cgroups_left '/un$')" ] && ok "nothing left" || fail "left state or cgroups"
[ "$fails" = 0 ]
