#!/usr/bin/env bash
# ctbench-runtime networking with real containers (root): user-defined networks resolve container
# names (busybox ping/nc through the generated /etc/hosts), the default bridge does not; -p/-P and
# `port`; a remote network namespace reaches a published port through the host address and not a
# 127.0.0.1-only one; port-in-use errors; delete detaches; a SIGKILLed `run` is cleaned up by
# `delete --force`; nothing of the engine is left at the end.
# `ip`, `nsenter` and `unshare` only build the test's remote host and witness results.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
RT="$(readlink -f "$CTBENCH_RUNTIME")"
AGENT="$(readlink -f "$CTBENCH_AGENT")"
root="/run/ctbench/runtime-nettest-$$"
bundle="$(mktemp -d /tmp/ctbench-netbundle.XXXXXX)"
ids="ctbn-a ctbn-b ctbn-c ctbn-d ctbn-e ctbn-k ctbn-busy"
remote_pid=""
cleanup() {
  for id in $ids; do "$RT" --root "$root" delete --force "$id" >/dev/null 2>&1; done
  "$RT" network rm ctbn-net >/dev/null 2>&1
  [ -n "$remote_pid" ] && kill -9 "$remote_pid" 2>/dev/null && wait "$remote_pid" 2>/dev/null
  ip link del ctbrmt1 2>/dev/null
  rm -rf "$bundle"
  rmdir "$root" 2>/dev/null
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
rt() { "$RT" --root "$root" "$@"; }
run_d() { rt run -d --default-image --bundle "$bundle" "$@"; }
engine_links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(ctb0|ctbbr|ctbv)'; }

if [ -e /run/ctbench/networks ]; then echo "another user of the network engine is active"; exit 1; fi
(cd "$bundle" && "$RT" spec) || fail "spec"
# A name that does not resolve through /etc/hosts would go to the host's nameservers (copied into
# the generated resolv.conf, as Docker does); the test's containers ask the loopback instead, so
# no query leaves the machine.
echo "nameserver 127.0.0.1" >"$bundle/resolv.conf"
/usr/bin/python3 - "$bundle/config.json" "$bundle/resolv.conf" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["args"] = ["/usr/bin/ctbench-agent", "tcp-echo-server", "7000"]
c["mounts"].append({"destination": "/etc/resolv.conf", "type": "bind", "source": sys.argv[2], "options": ["bind", "ro"]})
json.dump(c, open(p, "w"))
PY

# --- user-defined network: containers find each other by name ---------------------------------
out="$("$RT" network create ctbn-net)" && [ "$out" = ctbn-net ] && ok "network create" || fail "network create: $out"
"$RT" network create ctbn-net 2>/dev/null && fail "duplicate network accepted" || ok "duplicate network refused"
"$RT" network ls | grep -q '^ctbn-net ' && ok "network ls" || fail "network ls: $("$RT" network ls)"
run_d --network ctbn-net ctbn-a && ok "run -d --network ctbn-net a" || fail "run a"
run_d --network ctbn-net --network-alias web ctbn-b && ok "run -d --network ctbn-net b" || fail "run b"
out="$(rt exec ctbn-a -- /bin/ping -c1 -W2 ctbn-b 2>&1)"
grep -q "1 packets received" <<<"$out" && ok "a pings b by name" || fail "a -> b by name: $out"
out="$(rt exec ctbn-b -- /bin/ping -c1 -W2 ctbn-a 2>&1)"
grep -q "1 packets received" <<<"$out" && ok "b pings a by name (a joined first)" || fail "b -> a by name: $out"
out="$(rt exec ctbn-a -- /bin/sh -c 'echo hello-by-name | nc -w 2 web 7000' 2>&1)"
[ "$out" = hello-by-name ] && ok "a reaches b's TCP server by alias" || fail "tcp by name: $out"
[ "$(rt exec ctbn-a -- /bin/hostname)" = ctbn-a ] && ok "hostname is the container id" || fail "hostname"
"$RT" network rm ctbn-net 2>/dev/null && fail "rm of a network in use accepted" || ok "rm of a network in use refused"

# --- default bridge: no name resolution, addresses work ---------------------------------------
run_d --network bridge ctbn-c && run_d --network bridge ctbn-d && ok "two containers on the default bridge" || fail "run c, d"
out="$(rt exec ctbn-c -- /bin/ping -c1 -W1 ctbn-d 2>&1)"
grep -q "bad address" <<<"$out" && ok "default bridge does not resolve names" || fail "c resolved d: $out"
d_ip="$(rt exec ctbn-d -- /bin/hostname -i)"
out="$(rt exec ctbn-c -- /bin/ping -c1 -W2 "$d_ip" 2>&1)"
grep -q "1 packets received" <<<"$out" && ok "default bridge reaches a neighbour by address ($d_ip)" || fail "c -> d by ip: $out"

# --- publishing, `port`, and a remote host ----------------------------------------------------
run_d -p 18180:7000 -p 127.0.0.1:18181:7000 --expose 7001/udp -P ctbn-e && ok "run -d -p -P" || fail "run e"
ports="$(rt port ctbn-e)"
grep -qx '7000/tcp -> 0.0.0.0:18180' <<<"$ports" && grep -qx '7000/tcp -> 127.0.0.1:18181' <<<"$ports" &&
  grep -qE '^7001/udp -> 0.0.0.0:[0-9]+$' <<<"$ports" && ok "port lists -p and -P mappings" || fail "port: $ports"
[ "$(rt port ctbn-e 7000 | head -1)" = 0.0.0.0:18180 ] && ok "port ID 7000" || fail "port ID 7000: $(rt port ctbn-e 7000)"
unshare --net sleep 300 &
remote_pid=$!
sleep 0.2
ip link add ctbrmt1 type veth peer name eth0 netns "$remote_pid" && ip addr add 198.19.254.1/24 dev ctbrmt1 &&
  ip link set ctbrmt1 up && sysctl -qw net.ipv4.conf.ctbrmt1.forwarding=1 &&
  nsenter -t "$remote_pid" -n sh -c 'ip addr add 198.19.254.2/24 dev eth0 && ip link set eth0 up && ip route add default via 198.19.254.1' ||
  fail "remote host setup"
out="$(nsenter -t "$remote_pid" -n "$AGENT" tcp-client 198.19.254.1 18180 via-remote 2>&1)"
grep -q '"ok":true' <<<"$out" && ok "remote reaches the published port through the host address" || fail "remote: $out"
out="$("$AGENT" tcp-client 127.0.0.1 18181 from-host 2>&1)"
grep -q '"ok":true' <<<"$out" && ok "host reaches the 127.0.0.1 port" || fail "host -> 127.0.0.1: $out"
out="$(nsenter -t "$remote_pid" -n "$AGENT" tcp-client 198.19.254.1 18181 x --timeout 500 2>&1)"
grep -q '"ok":false' <<<"$out" && ok "remote does not reach the 127.0.0.1 port" || fail "remote -> lo port: $out"
out="$(rt create --default-image --bundle "$bundle" -p 18180:80 ctbn-busy 2>&1)"; rc=$?
[ $rc = 1 ] && grep -q '0.0.0.0:18180/tcp: port already allocated' <<<"$out" && ok "port in use: clean error" || fail "port in use: rc=$rc $out"
[ ! -e "$root/ctbn-busy" ] && ! rt port ctbn-busy >/dev/null 2>&1 && ok "nothing left of the refused container" || fail "leftovers of ctbn-busy"
e_veth="$(ip -o link show master ctb0 | wc -l)"
rt delete --force ctbn-e && ! rt port ctbn-e >/dev/null 2>&1 && [ "$(ip -o link show master ctb0 | wc -l)" = $((e_veth - 1)) ] &&
  ok "delete detaches (veth, record)" || fail "delete did not detach"
nft list table inet ctbench 2>/dev/null | grep -q 'ctr ctbn-e' && fail "rules of ctbn-e left" || ok "rules of ctbn-e removed"

# --- a SIGKILLed runtime: the next delete --force removes everything --------------------------
"$RT" --root "$root" run --default-image --bundle "$bundle" -p 18182:7000 ctbn-k >/dev/null 2>&1 &  # the runtime itself, not a subshell
run_pid=$!
for _ in $(seq 100); do rt state ctbn-k 2>/dev/null | grep -q '"running"' && break; sleep 0.1; done
kill -9 "$run_pid"; wait "$run_pid" 2>/dev/null
rt port ctbn-k | grep -q 18182 && ok "SIGKILLed run left its attachment" || fail "no attachment for ctbn-k"
rt delete --force ctbn-k && ! rt port ctbn-k >/dev/null 2>&1 && ! nft list table inet ctbench 2>/dev/null | grep -q 'ctr ctbn-k' &&
  ok "delete --force cleaned up after the SIGKILL" || fail "ctbn-k leftovers"

# --- teardown: the engine leaves nothing -------------------------------------------------------
for id in ctbn-a ctbn-b ctbn-c ctbn-d; do rt delete --force "$id" || fail "delete $id"; done
"$RT" network rm ctbn-net >/dev/null && ok "network rm" || fail "network rm"
left="$(engine_links)"
[ -z "$left" ] && ok "no links left" || fail "links left: $left"
[ ! -e /run/ctbench/networks ] && [ ! -e /run/ctbench/netns ] && ok "no state left" || fail "state left: $(ls -R /run/ctbench/networks /run/ctbench/netns 2>&1)"
nft list table inet ctbench >/dev/null 2>&1 && fail "nft table left" || ok "no nft table left"
[ "$fails" = 0 ]
