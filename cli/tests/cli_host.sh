#!/usr/bin/env bash
# ctbench against the real host (root): doctor's JSON is schema-valid and agrees with independent
# evidence; run writes schema-valid reports in every format; report and compare read them back.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-cli-test.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }

"$CTBENCH" doctor --format json >"$tmp/doctor.json" || fail "doctor exit $?"
"$VALIDATE" "$SCHEMA" "$tmp/doctor.json" --def hostProbe && ok "doctor json is schema-valid" || fail "doctor schema"

# Independent evidence for a few answers.
jq_py() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/doctor.json')); print($1)"; }
[ "$(jq_py "d['kernel']")" = "$(uname -r)" ] && ok "kernel" || fail "kernel"
for ns in mnt uts ipc pid net user cgroup time; do
  name=$ns; [ $ns = mnt ] && name=mount; [ $ns = net ] && name=network
  want=False; [ -e /proc/self/ns/$ns ] && want=True
  got="$(jq_py "d['namespaces']['$name']['available']")"
  [ "$got" = "$want" ] && ok "namespace $name=$got" || fail "namespace $name: got $got want $want"
done
if grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts; then want_mode=v2
elif grep -q ' cgroup2 ' /proc/mounts && grep -q ' cgroup ' /proc/mounts; then want_mode=hybrid
else want_mode=v1; fi
[ "$(jq_py "d['cgroups']['mode']")" = "$want_mode" ] && ok "cgroup mode $want_mode" || fail "cgroup mode"
want_kvm=False; [ -c /dev/kvm ] && want_kvm=True
[ "$(jq_py "d['kvm']['device']['available']")" = "$want_kvm" ] && ok "kvm device" || fail "kvm device"
[ "$(jq_py "d['kvm']['kvm_boot']")" = "None" ] && ok "no guest boot without --probe-kvm" || fail "kvm_boot probed"
if [ ! -e /sys/bus/event_source/devices/kprobe/type ]; then
  [ "$(jq_py "d['bpf_program_types']['kprobe']['available']")" = "False" ] && ok "kprobe unavailable without PMU" || fail "kprobe"
fi

"$CTBENCH" doctor >"$tmp/doctor.txt" && grep -q '^namespaces' "$tmp/doctor.txt" && ok "doctor text" || fail "doctor text"

# A run writes every format; the JSON one validates. Exit 0, 1 or 4 are all legitimate outcomes
# here; 2 (infrastructure) is not.
"$CTBENCH" run --suite all --repetitions 2 --format json,junit,tap,markdown,text --output "$tmp/out" >/dev/null 2>"$tmp/run.err"
rc=$?
[ "$rc" != 2 ] && ok "run exit $rc" || { fail "run exit 2"; cat "$tmp/run.err"; }
for f in report.json report.junit.xml report.tap report.md report.txt; do
  [ -s "$tmp/out/$f" ] && ok "wrote $f" || fail "missing $f"
done
"$VALIDATE" "$SCHEMA" "$tmp/out/report.json" && ok "run report is schema-valid" || fail "run report schema"
/usr/bin/python3 -c "import xml.dom.minidom,sys; xml.dom.minidom.parse('$tmp/out/report.junit.xml')" && ok "junit is XML" || fail "junit XML"

"$CTBENCH" report "$tmp/out/report.json" --format markdown >"$tmp/again.md" && cmp -s "$tmp/again.md" "$tmp/out/report.md" \
  && ok "report re-renders identically" || fail "report re-render"
"$CTBENCH" compare "$tmp/out/report.json" "$tmp/out/report.json" >/dev/null && ok "self-compare has no regression" || fail "self-compare"

# A run against a runtime that does not exist fails cleanly and leaves nothing behind.
"$CTBENCH" run --runtime /nonexistent/runc >/dev/null 2>&1; [ $? = 2 ] && ok "bad runtime exit 2" || fail "bad runtime"

# Nothing of ours left on the host.
left="$(find /run/ctbench -mindepth 1 2>/dev/null; ip -o link 2>/dev/null | awk -F': ' '{print $2}' | grep '^ctb'; nft list tables 2>/dev/null | grep ctbench; grep ctbench /proc/self/mountinfo)"
[ -z "$left" ] && ok "no leftovers" || fail "leftovers: $left"
[ "$fails" = 0 ]
