#!/usr/bin/env bash
# A corpus of broken reports, made from a valid one, fed to `ctbench report` and `ctbench compare`
# (either side): each must exit 2 with a message naming the file and the JSON path (or parse
# position) of the problem; never a crash, never a verdict.
exec /usr/bin/python3 - "$CTBENCH" "$FIXTURES/base.json" <<'PY'
import copy, json, os, subprocess, sys, tempfile
ctbench, base_path = sys.argv[1], sys.argv[2]
text = open(base_path).read()
base = json.loads(text)

def edit(fn):
    d = copy.deepcopy(base); fn(d); return json.dumps(d, indent=1)

def set_sample(d, value):
    d["benchmarks"][0]["samples"][3] = value

corpus = {  # name: (content, what the error must say)
    "truncated": (text[: len(text) // 2], "parse report"),
    "empty": ("", "parse report"),
    "not-an-object": ("[1, 2]", "at /: expected a JSON object"),
    "wrong-kind": (edit(lambda d: d.update(kind="other")), "at /kind"),
    "future-major": (edit(lambda d: d.update(schema_version=2)), "at /schema_version: schema major version 2"),
    "version-string": (edit(lambda d: d.update(schema_version="1")), "at /schema_version"),
    "no-run": (edit(lambda d: d.pop("run")), "at /run: missing"),
    "no-kernel": (edit(lambda d: d["run"].pop("kernel")), "at /run/kernel: missing"),
    "no-benchmarks": (edit(lambda d: d.pop("benchmarks")), "at /benchmarks: missing"),
    "no-samples": (edit(lambda d: d["benchmarks"][1].pop("samples")), "at /benchmarks/1/samples: missing"),
    "empty-samples": (edit(lambda d: d["benchmarks"][0].update(samples=[])), "at /benchmarks/0/samples: no samples"),
    "no-ci": (edit(lambda d: d["benchmarks"][2].pop("ci")), "at /benchmarks/2/ci: missing"),
    "median-string": (edit(lambda d: d["benchmarks"][0].update(median="fast")), "at /benchmarks/0/median: expected number"),
    "negative-sample": (edit(lambda d: set_sample(d, -5.0)), "at /benchmarks/0/samples/3: negative sample"),
    "string-sample": (edit(lambda d: set_sample(d, "NaN")), "at /benchmarks/0/samples/3: expected number"),
    "null-sample": (edit(lambda d: set_sample(d, None)), "at /benchmarks/0/samples/3: expected number"),
    "nan-literal": (edit(lambda d: set_sample(d, 12345.5)).replace("12345.5", "NaN"), "parse report"),
    "infinite-sample": (edit(lambda d: set_sample(d, 12345.5)).replace("12345.5", "1e999"), "number overflow parsing '1e999'"),
    "bad-outcome": (edit(lambda d: d["conformance"][2].update(outcome="maybe")), "at /conformance/2/outcome"),
    "case-not-object": (edit(lambda d: d["conformance"].__setitem__(0, 7)), "at /conformance/0: expected object"),
    "host-broken": (edit(lambda d: d["run"]["host"].pop("cgroups")), "at /run/host: [json.exception.out_of_range.403] key 'cgroups' not found"),
}

def rename(d):
    for b in d["benchmarks"]: b["name"] = "other." + b["name"]
    for c in d["conformance"]: c["id"] = c["id"] + "_other"
nothing_in_common = edit(rename)

fails = 0
def check(label, args, want_text, path):
    global fails
    p = subprocess.run([ctbench] + args, capture_output=True, text=True, timeout=60)
    problems = []
    if p.returncode != 2: problems.append(f"exit {p.returncode}, want 2" + (" (CRASH)" if p.returncode < 0 or p.returncode >= 128 else ""))
    if path not in p.stderr: problems.append(f"message does not name {path}")
    if want_text not in p.stderr: problems.append(f"message lacks {want_text!r}")
    if "no regression" in p.stdout: problems.append("printed a verdict")
    if problems:
        fails += 1
        print(f"FAIL {label}: {'; '.join(problems)}\n  stderr: {p.stderr.strip()}")
    else:
        print(f"ok   {label}: {p.stderr.strip()[:160]}")

with tempfile.TemporaryDirectory() as tmp:
    for name, (content, want) in corpus.items():
        path = os.path.join(tmp, name + ".json")
        open(path, "w").write(content)
        check(f"report {name}", ["report", path, "--format", "text"], want, path)
        check(f"compare base {name}", ["compare", base_path, path], want, path)
        check(f"compare {name} base", ["compare", path, base_path], want, path)
    path = os.path.join(tmp, "renamed.json")
    open(path, "w").write(nothing_in_common)
    check("compare nothing-in-common", ["compare", base_path, path], "no benchmark series in common", path)
    p = subprocess.run([ctbench, "report", path, "--format", "text"], capture_output=True, text=True)
    if p.returncode != 0:
        fails += 1; print("FAIL: a valid report with other names was refused:", p.stderr)
print(f"{len(corpus)} broken reports, {fails} failures")
sys.exit(1 if fails else 0)
PY
