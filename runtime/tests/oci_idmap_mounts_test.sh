#!/usr/bin/env bash
# Idmapped mounts (OCI 1.2 mount uidMappings/gidMappings, options idmap and ridmap; root).
# The kernel's view decides: files stat'ed inside the container show their on-disk owners mapped
# by the mount's mapping (the overflow id outside it), a file the container creates through the
# mount has the unmapped owner on disk (stat from the host), ridmap maps an rbind's submount and
# idmap does not, a container with a user namespace and "idmap" alone uses the container's own
# mapping. Refusals name the mount (no mapping and no user namespace, one of the two mappings
# missing, a non-bind type, crun's "idmap=..." form, a filesystem without idmap support) and
# leave nothing behind.
set -u
. "$(dirname "$0")/oci_lib.sh"
SUB=""
cleanup_sub() { [ -n "$SUB" ] && umount "$SUB" 2>/dev/null; true; }
trap 'cleanup_sub; finish' EXIT
chmod 755 "$WORK"  # a mapped root (case 3) must reach the bundle and the data, as with runc
B="$WORK/b"
make_bundle "$B"
chmod 1777 "$B/rootfs/tmp"
(cd "$B" && "$RT" spec) || fail "spec"
cp "$B/config.json" "$WORK/base.json"
D="$WORK/data"
mkdir -p "$D"
for id in 0 5 500; do echo x > "$D/f$id"; chown "$id:$id" "$D/f$id"; done
chown 5:5 "$D"  # shows as 100005 through the mapping: the container's user (100005) may create
chmod 755 "$D"

reset() { cp "$WORK/base.json" "$B/config.json"; rm -f "$B/rootfs/tmp/out" "$D/new"; }
# run_out ID: runs the container in the foreground; its /tmp/out afterwards.
run_out() { uses "$1"; rt run --bundle "$B" "$1" >"$WORK/log" 2>&1; cat "$B/rootfs/tmp/out" 2>/dev/null; }
left_behind() { [ -e "$ROOT/$1" ] || [ -n "$(cgroups_left "/$1\$")" ]; }
MAP="[{'containerID': 0, 'hostID': 100000, 'size': 100}]"
STAT='for f in f0 f5 f500; do stat -c %u:%g /data/$f; done'

# 1. The mount's own mapping, no user namespace: the process runs as host uid 100005.
reset
edit_config "$B/config.json" "c['process']['user'] = {'uid': 100005, 'gid': 100005}
c['process']['args'] = ['/bin/sh', '-c', '$STAT > /tmp/out; touch /data/new; stat -c %u:%g /data/new >> /tmp/out']
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$D', 'options': ['bind', 'idmap'],
                    'uidMappings': $MAP, 'gidMappings': $MAP})"
out="$(run_out own)"
[ "$out" = "$(printf '100000:100000\n100005:100005\n65534:65534\n100005:100005')" ] \
  && ok "owners mapped inside (0->100000, 5->100005, 500 outside -> overflow), new file read back as 100005" \
  || fail "inside: [$out] $(cat "$WORK/log")"
[ "$(stat -c %u:%g "$D/new" 2>&1)" = 5:5 ] && ok "the file it created is 5:5 on disk (stat from the host)" \
  || fail "host owner of new: $(stat -c %u:%g "$D/new" 2>&1)"
[ "$(stat -c %u:%g "$D/f0")" = 0:0 ] && ok "on-disk owners unchanged" || fail "f0 now $(stat -c %u:%g "$D/f0")"
left_behind own && fail "own: state or cgroups left" || ok "own: nothing left"

# 2. rbind with a submount: ridmap maps the submount too, idmap only the top.
SUB="$D/sub"
mkdir -p "$SUB"
mount -t tmpfs -o mode=755 ctbench-idmap-sub "$SUB"
for opt in idmap ridmap; do
  reset
  edit_config "$B/config.json" "c['process']['args'] = ['/bin/sh', '-c', 'stat -c %u /data/f0 /data/sub > /tmp/out']
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$D', 'options': ['rbind', '$opt'],
                    'uidMappings': $MAP, 'gidMappings': $MAP})"
  out="$(run_out "r$opt" | tr '\n' ' ')"
  want="100000 0 "; [ "$opt" = ridmap ] && want="100000 100000 "
  [ "$out" = "$want" ] && ok "rbind + $opt: top and submount show [$out]" || fail "rbind + $opt: [$out] want [$want] $(cat "$WORK/log")"
done
cleanup_sub; SUB=""

# 3. "idmap" alone in a container with a user namespace: the container's mapping is used, so
# on-disk 0 is root inside, and root's new file is 0:0 on disk.
reset
edit_config "$B/config.json" "c['process']['args'] = ['/bin/sh', '-c', 'stat -c %u:%g /data/f0 /data/f5 > /tmp/out; touch /data/new']
c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$D', 'options': ['bind', 'idmap']})"
chown 0:0 "$D"
out="$(run_out userns | tr '\n' ' ')"
[ "$out" = "0:0 5:5 " ] && ok "container's own mapping: on-disk owners read back unchanged inside" || fail "userns: [$out] $(cat "$WORK/log")"
[ "$(stat -c %u:%g "$D/new" 2>&1)" = 0:0 ] && ok "container root's new file is 0:0 on disk" || fail "host owner: $(stat -c %u:%g "$D/new" 2>&1)"
chown 5:5 "$D"

# 4. Refusals: clear error naming the mount, nothing left.
refused() {  # NAME PYTHON EXPECTED-TEXT
  reset
  edit_config "$B/config.json" "$2"
  uses "$1"
  if rt create --bundle "$B" "$1" >/dev/null 2>"$WORK/err"; then fail "$1: create succeeded"; return; fi
  grep -q -- "$3" "$WORK/err" && ok "$1 refused: $(head -1 "$WORK/err")" || fail "$1: $(cat "$WORK/err") (want $3)"
  left_behind "$1" && fail "$1: state or cgroups left" || true
}
refused nomap "c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$D', 'options': ['bind', 'idmap']})" \
  "idmap mount /data: the mount has no uidMappings/gidMappings and the container has no user namespace"
refused halfmap "c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$D', 'options': ['bind', 'idmap'], 'uidMappings': $MAP})" \
  "mounts\[[0-9]*\].gidMappings: required"
refused tmpfs "c['mounts'].append({'destination': '/data', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['idmap'], 'uidMappings': $MAP, 'gidMappings': $MAP})" \
  "idmap mount /data: only bind mounts"
refused crunform "c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$D', 'options': ['bind', 'idmap=uids=0-1-10;gids=0-1-10']})" \
  "uidMappings and gidMappings"
refused procfs "c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind', 'idmap'], 'uidMappings': $MAP, 'gidMappings': $MAP})" \
  "idmap mount /data: EINVAL.*proc filesystem"

# 5. features says so.
feat="$("$RT" features)"
echo "$feat" | /usr/bin/python3 -c 'import json,sys; f=json.load(sys.stdin)
assert "idmap" in f["mountOptions"] and "ridmap" in f["mountOptions"], f["mountOptions"]
assert f["linux"]["mountExtensions"]["idmap"]["enabled"] is True' && ok "features: idmap, ridmap, mountExtensions.idmap.enabled" || fail "features"
[ "$fails" = 0 ]
