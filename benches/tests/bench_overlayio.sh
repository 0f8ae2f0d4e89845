#!/usr/bin/env bash
# `meson test --suite bench`: the overlayio benches with 2 repetitions give sane series
# (benches/tests/check_overlayio.py: positive values with units, ratios against baselines in the
# report, fio fidelity or its reason, I/O traces with nothing lost), a schema-valid report, and
# leave nothing behind: no ctbench object (`ctbench doctor --cleanup`), no BPF program of ours.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-bench-overlayio.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
source "$(dirname "$0")/bench_lib.sh"
run_locked "$CTBENCH" run --suite overlayio --repetitions 2 --format json --output "$tmp/overlayio.json"
[ "$rc" = 0 ] || { echo "FAIL ctbench run --suite overlayio exited $rc"; cat "$tmp/err"; fails=$((fails+1)); }
python3 "$VALIDATE" "$SCHEMA" "$tmp/overlayio.json" || { echo "FAIL report does not match the schema"; fails=$((fails+1)); }
python3 "$CHECK_OVERLAYIO" "$tmp/overlayio.json" || fails=$((fails+1))
# Without fio (PATH without /usr/bin), the bare series say why they have no fidelity figure.
run_locked env PATH=/usr/sbin:/sbin "$CTBENCH" run --suite overlayio --filter seqread --repetitions 2 --format json \
  --output "$tmp/nofio.json"
[ "$rc" = 0 ] || { echo "FAIL run without fio exited $rc"; cat "$tmp/err"; fails=$((fails+1)); }
python3 - "$tmp/nofio.json" <<'PY' || fails=$((fails+1))
import json, sys
bare = [b for b in json.load(open(sys.argv[1]))["benchmarks"] if b["context"].get("where") == "bare"]
assert bare, "no bare series"
for b in bare:
    assert b.get("fidelity") is None, b["name"]
    assert "fio" in b["context"].get("fidelity_skipped", ""), (b["name"], b["context"])
PY
# Nothing of the benches under the state directory, no mount, no cgroup, no link.
left="$(ls -d /run/ctbench/bench-overlayio-* 2>/dev/null)"
[ -z "$left" ] || { echo "FAIL scratch left: $left"; fails=$((fails+1)); }
left="$("$CTBENCH" doctor --cleanup)"
[ "$left" = "nothing to clean up" ] || { echo "FAIL left behind: $left"; fails=$((fails+1)); }
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
for what in prog link; do
  # Programs are freed after an RCU grace period: bounded wait.
  for _ in $(seq 1 50); do "$bpftool" "$what" list | grep -q ctb_io_ || break; sleep 0.1; done
  if "$bpftool" "$what" list | grep -q ctb_io_; then echo "FAIL bpftool $what list still shows ctb_io_"; fails=$((fails+1)); fi
done
[ "$fails" = 0 ]
