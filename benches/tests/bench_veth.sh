#!/usr/bin/env bash
# `meson test --suite bench`: the veth benches (tcp_stream, udp_stream, tcp_rr) with two
# repetitions give sane series on every path with ratios, fidelity entries (or reasons) and
# network traces (benches/tests/check_veth.py), a schema-valid report, and leave nothing behind:
# no ctb link, no network namespace under /run/ctbench, no nft table, no ctb_ BPF program or link,
# no iperf3/sockperf/agent server of ours.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-veth.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
source "$(dirname "$0")/bench_lib.sh"
run_locked "$CTBENCH" run --suite veth --repetitions 2 --format json --output "$tmp/veth.json"
[ "$rc" = 0 ] || { echo "FAIL ctbench run --suite veth exited $rc"; cat "$tmp/err"; fails=$((fails+1)); }
python3 "$VALIDATE" "$SCHEMA" "$tmp/veth.json" || { echo "FAIL report does not match the schema"; fails=$((fails+1)); }
"$CHECK" "$tmp/veth.json" veth.tcp_stream veth.udp_stream veth.tcp_rr || fails=$((fails+1))
# A missing fidelity tool (PATH without /usr/bin hides sockperf): a reason, never a zero or a ratio.
run_locked env PATH=/usr/sbin:/sbin "$CTBENCH" run --suite veth --filter tcp_rr --repetitions 1 --format json \
  --output "$tmp/notool.json"
[ "$rc" = 0 ] || { echo "FAIL run without sockperf exited $rc"; cat "$tmp/err"; fails=$((fails+1)); }
"$CHECK" "$tmp/notool.json" veth.tcp_rr || fails=$((fails+1))
python3 - "$tmp/notool.json" <<'PY' || fails=$((fails+1))
import json, sys
loop = next(b for b in json.load(open(sys.argv[1]))["benchmarks"] if b["name"] == "veth.tcp_rr/loopback")
assert loop.get("fidelity") is None, loop.get("fidelity")
assert "not installed" in loop["context"].get("fidelity_not_measured", ""), loop["context"]
PY
links="$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^ctb' || true)"
[ -z "$links" ] || { echo "FAIL links left: $links"; fails=$((fails+1)); }
if [ -d /run/ctbench/netns ] && [ -n "$(ls -A /run/ctbench/netns)" ]; then
  echo "FAIL network namespaces left: $(ls /run/ctbench/netns)"; fails=$((fails+1))
fi
ls -d /run/ctbench/bench-veth-* 2>/dev/null && { echo "FAIL bench directory left"; fails=$((fails+1)); }
if nft list table inet ctbench >/dev/null 2>&1; then echo "FAIL nft table inet ctbench left"; fails=$((fails+1)); fi
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
for what in prog link; do
  # Programs are freed after an RCU grace period: bounded wait.
  for _ in $(seq 1 50); do "$bpftool" "$what" list | grep -q ctb_nt_ || break; sleep 0.1; done
  if "$bpftool" "$what" list | grep -q ctb_nt_; then echo "FAIL bpftool $what list still shows ctb_nt_"; fails=$((fails+1)); fi
done
# Servers are stopped by pid: none of ours may outlive the run (their command lines name our ports
# or the agent's netbench-server).
if pgrep -af 'netbench-server|iperf3 -s -B 127.0.0.1|sockperf server --tcp -i 127.0.0.1' >"$tmp/procs"; then
  echo "FAIL servers left: $(cat "$tmp/procs")"; fails=$((fails+1))
fi
left="$("$CTBENCH" doctor --cleanup)"
[ "$left" = "nothing to clean up" ] || { echo "FAIL left behind: $left"; fails=$((fails+1)); }
# Bad input: the engine names the argument and exits 2, nothing started.
agent="$(dirname "$CTBENCH")/../runtime/agent/ctbench-agent"
"$agent" netbench-client tcp_sideways 127.0.0.1 1 2>"$tmp/bad"; rc=$?
[ "$rc" = 2 ] && grep -q "MODE" "$tmp/bad" || { echo "FAIL bad MODE: exit $rc $(cat "$tmp/bad")"; fails=$((fails+1)); }
[ "$fails" = 0 ]
