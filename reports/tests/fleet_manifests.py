#!/usr/bin/python3
"""docs/fleet: the DaemonSet and the LAVA test definition parse and have what they need.

usage: fleet_manifests.py DOCS_DIR KTAP_FILE
No cluster or LAVA lab is available to the tests: this checks structure, and runs the LAVA
definition's KTAP-to-test-case step (with lava-test-case replaced by a shell function that
prints) on real ctbench KTAP output.
"""
import subprocess
import sys

import yaml

docs, ktap = sys.argv[1], sys.argv[2]
problems = []


def need(cond, what):
    if not cond:
        problems.append(what)


docs_k8s = list(yaml.safe_load_all(open(f"{docs}/fleet/daemonset.yaml")))
ds = [d for d in docs_k8s if d and d.get("kind") == "DaemonSet"]
need(len(ds) == 1, "one DaemonSet")
d = ds[0]
need(d.get("apiVersion") == "apps/v1", "apiVersion apps/v1")
need(d["metadata"].get("name") and d["metadata"].get("namespace"), "metadata name and namespace")
spec = d["spec"]
tmpl = spec["template"]
labels = tmpl["metadata"]["labels"]
need(all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()), "selector matches pod labels")
pod = tmpl["spec"]
need(pod.get("hostPID") is True and pod.get("hostNetwork") is True, "hostPID and hostNetwork")
c = pod["containers"][0]
need(c.get("image") and c.get("name"), "container name and image")
need(c["securityContext"].get("privileged") is True, "privileged")
command = " ".join(c.get("command", []) + c.get("args", []))
need("ctbench run" in command and "kcidb" in command, "runs ctbench with kcidb output")
volumes = {v["name"]: v for v in pod["volumes"]}
for m in c["volumeMounts"]:
    need(m["name"] in volumes, f"volume for mount {m['name']}")
for path in ("/sys/fs/cgroup", "/sys/fs/bpf", "/run/ctbench", "/results"):
    need(any(m["mountPath"] == path for m in c["volumeMounts"]), f"mount {path}")
need(any(x.get("kind") == "Namespace" and x["metadata"]["name"] == d["metadata"]["namespace"] for x in docs_k8s if x),
     "its namespace is declared")

lava = yaml.safe_load(open(f"{docs}/fleet/lava-ctbench.yaml"))
need(lava["metadata"].get("format") == "Lava-Test Test Definition 1.0", "LAVA format")
need(lava["metadata"].get("name") and lava["metadata"].get("description"), "LAVA name and description")
steps = lava["run"]["steps"]
need(any("ctbench run" in s for s in steps), "LAVA step runs ctbench")
convert = [s for s in steps if "lava-test-case" in s]
need(len(convert) == 1, "one KTAP-to-test-case step")
if convert:
    script = "lava-test-case() { echo \"$1 $3\"; }\n" + convert[0].replace("/tmp/ctbench.ktap", ktap)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")
    got = dict(line.split() for line in out if line)
    want = {"ns.pid.init_is_1": "pass", "cgroup.memory.oom_kill": "skip", "overlay.copy_up.chmod": "fail",
            "security.seccomp.default": "fail"}
    need(got == want, f"LAVA cases from KTAP: {got}")

for p in problems:
    print("FAIL:", p)
print(f"fleet manifests: {len(problems)} problems")
sys.exit(1 if problems else 0)
