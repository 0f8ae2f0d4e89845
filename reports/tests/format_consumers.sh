#!/usr/bin/env bash
# Each machine format checked by what reads it. usage: format_consumers.sh kcidb|junit|ktap|bmf
set -u
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
render() { "$CTBENCH" report "$1" --format "$2" --output "$3" || { echo "FAIL: ctbench report --format $2"; exit 1; }; }
case "$1" in
kcidb)
  # KernelCI's own schema (kcidb-io v5.3), validated with python3-jsonschema.
  [ -f "$KCIDB_SCHEMA" ] || { echo "SKIP: KCIDB schema not found at $KCIDB_SCHEMA"; exit 77; }
  for f in "$SAMPLE" "$FIXTURES/base.json"; do
    render "$f" kcidb "$tmp/k.json"
    "$VALIDATE" "$KCIDB_SCHEMA" "$tmp/k.json" || exit 1
  done
  # The schema can say no: a status KCIDB does not know is refused.
  render "$SAMPLE" kcidb "$tmp/k.json"
  sed 's/"status": "SKIP"/"status": "SKIPPED"/' "$tmp/k.json" >"$tmp/bad.json"
  if "$VALIDATE" "$KCIDB_SCHEMA" "$tmp/bad.json" >/dev/null; then echo "FAIL: schema accepted SKIPPED"; exit 1; fi
  $py - "$tmp/k.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
st = {t["path"]: t["status"] for t in k["tests"]}
assert st["ctbench.ns.pid.init_is_1"] == "PASS" and st["ctbench.cgroup.memory.oom_kill"] == "SKIP", st
assert st["ctbench.overlay.copy_up.chmod"] == "FAIL" and st["ctbench.security.seccomp.default"] == "ERROR", st
bench = [t for t in k["tests"] if t["status"] == "DONE"]
assert bench and bench[0]["number"]["unit"] == "ns", bench
print("kcidb ok:", len(k["tests"]), "tests")
PY
  ;;
junit)
  render "$SAMPLE" junit "$tmp/j.xml"
  $py - "$tmp/j.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites"
suites = {s.get("name"): s for s in root.findall("testsuite")}
assert set(suites) == {"conformance.ns", "conformance.cgroup", "conformance.overlay", "conformance.security", "benchmarks"}, suites.keys()
for s in suites.values():
    assert int(s.get("tests")) == len(s.findall("testcase")), s.get("name")
    for kind in ("failures", "errors", "skipped"):
        tag = {"failures": "failure", "errors": "error", "skipped": "skipped"}[kind]
        assert int(s.get(kind)) == len(s.findall(f"testcase/{tag}")), (s.get("name"), kind)
sk = suites["conformance.cgroup"].find("testcase/skipped")
assert sk.get("message") == "memory controller is on cgroup v1 (hybrid host)", sk.attrib
fl = suites["conformance.overlay"].find("testcase/failure")
assert fl.get("message") == "lower layer modified <&>" and fl.text == "lower layer modified <&>", fl.attrib
assert suites["conformance.ns"].find("testcase/system-out").text == '{"pid":1}'
assert suites["benchmarks"].find("testcase/skipped").get("message") == "network feature veth unavailable"
print("junit ok:", ", ".join(sorted(suites)))
PY
  ;;
ktap)
  render "$SAMPLE" ktap "$tmp/k.ktap"
  cat "$tmp/k.ktap"
  $py "$KTAP_CHECK" "$tmp/k.ktap" || exit 1
  # The checker can say no: a wrong plan is refused.
  sed '0,/^  1\.\./s/^  1\.\.\([0-9]*\)/  1..9\1/' "$tmp/k.ktap" >"$tmp/bad.ktap"
  if $py "$KTAP_CHECK" "$tmp/bad.ktap" >/dev/null 2>&1; then echo "FAIL: checker accepted a wrong plan"; exit 1; fi
  ;;
bmf)
  render "$FIXTURES/base.json" bmf "$tmp/b.json"
  $py - "$tmp/b.json" "$FIXTURES/base.json" <<'PY'
import json, sys
bmf, rep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for b in rep["benchmarks"]:
    m = bmf[b["name"]]
    assert len(m) == 1
    (measure, v), = m.items()
    assert measure == ("throughput" if b["unit"].endswith("/s") else "latency"), measure
    assert set(v) == {"value", "lower_value", "upper_value"}, v
    assert v["lower_value"] <= v["value"] <= v["upper_value"], v
    assert v["value"] == b["median"] and v["lower_value"] == b["ci"]["low"], (v, b["ci"])
print("bmf ok:", ", ".join(bmf))
PY
  ;;
*) echo "usage: $0 kcidb|junit|ktap|bmf" >&2; exit 2 ;;
esac
