#!/usr/bin/env python3
"""Compares the conformance verdicts of ctbench JSON reports.

  verdicts.py same REPORT...            every report gives every case the same outcome
  verdicts.py agree BASE OTHER [KNOWN]  OTHER (another runtime) gives BASE's outcome for every
                                        case, except where it skips with a reason that names its
                                        runtime (the case says why the runtime differs), where BASE
                                        skips because the built-in runtime lacks the feature (its
                                        reason says "built-in runtime"), or where KNOWN lists the
                                        difference with its reason
Prints each difference and exits 1 when there is one, 2 on unreadable input.
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"verdicts.py: {path}: {e}")
    runtime = report.get("run", {}).get("runtime", {}).get("name", "?")
    return runtime, {c["id"]: c for c in report.get("conformance", [])}


def same(paths):
    _, first = load(paths[0])
    diffs = 0
    for path in paths[1:]:
        _, other = load(path)
        for cid in sorted(set(first) | set(other)):
            a, b = first.get(cid), other.get(cid)
            if not a or not b or a["outcome"] != b["outcome"]:
                diffs += 1
                print(f"DIFF {cid}: {paths[0]}: {a and a['outcome']} ({a and a['reason']}) "
                      f"vs {path}: {b and b['outcome']} ({b and b['reason']})")
    print(f"{len(paths)} reports, {len(first)} cases, {diffs} differences")
    return 1 if diffs or not first else 0


def load_known(path):
    known = {}
    if path:
        with open(path) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    runtime, cid, why = line.split(None, 2)
                    known[(runtime, cid)] = why.strip()
    return known


def agree(base_path, other_path, known_path=None):
    base_rt, base = load(base_path)
    other_rt, other = load(other_path)
    known = load_known(known_path)
    short_rt = other_rt.split("/")[-1]
    diffs = explained = 0
    for cid in sorted(set(base) | set(other)):
        a, b = base.get(cid), other.get(cid)
        if a and b and a["outcome"] == b["outcome"]:
            continue
        if (short_rt, cid) in known:
            explained += 1
            print(f"KNOWN {cid}: {base_rt} {a and a['outcome']}, {other_rt} {b and b['outcome']}: {known[(short_rt, cid)]}")
            continue
        if a and b and b["outcome"] == "skip" and short_rt in b["reason"]:
            explained += 1
            print(f"EXPLAINED {cid}: {base_rt} {a['outcome']}, {other_rt} skips: {b['reason']}")
            continue
        # The built-in runtime lacks the feature (it says so from its own parse tables up front).
        if a and b and a["outcome"] == "skip" and "built-in runtime" in a["reason"]:
            explained += 1
            print(f"EXPLAINED {cid}: {base_rt} skips: {a['reason']}; {other_rt} {b['outcome']}")
            continue
        diffs += 1
        print(f"DIFF {cid}: {base_rt}: {a and a['outcome']} ({a and a['reason']}); "
              f"{other_rt}: {b and b['outcome']} ({b and b['reason']})")
    print(f"{other_rt} vs {base_rt}: {len(base)} cases, {explained} explained differences, {diffs} unexplained")
    return 1 if diffs or not base else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "same":
        return same(argv[2:])
    if len(argv) in (4, 5) and argv[1] == "agree":
        return agree(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
