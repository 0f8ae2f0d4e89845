#!/usr/bin/python3
"""Strict check of KTAP version 1 as Documentation/dev-tools/ktap.rst defines it.

usage: ktap_check.py FILE
A document is a version line, a plan "1..N", then N test results numbered 1..N, each
"ok|not ok <n> [<name>] [# <directive> <reason>]"; a subtest is a whole nested document indented
by two more spaces, directly followed by its parent-level result line; diagnostic lines start with
"#". No checker from the kernel tree is packaged in Debian, so these rules are checked here.
Exit 0 valid, 1 with the first violation and its line number.
"""
import re
import sys

RESULT = re.compile(r"^(ok|not ok) ([0-9]+)(?: ([^#]*?))?\s*(?:# (SKIP|TODO|XFAIL|TIMEOUT|ERROR)(?: (.*))?)?$")


class Bad(Exception):
    pass


def parse(lines, i, indent):
    """Parses one document at `indent`; returns (index after it, number of results, any failure)."""
    pad = " " * indent

    def body(k):
        if k >= len(lines) or not lines[k][1].startswith(pad):
            return None
        return lines[k][1][indent:]

    if body(i) != "KTAP version 1":
        raise Bad(f"line {lines[i][0] if i < len(lines) else 'EOF'}: expected '{pad}KTAP version 1'")
    i += 1
    while body(i) is not None and body(i).startswith("#"):
        i += 1
    plan = body(i)
    m = re.fullmatch(r"1\.\.([0-9]+)", plan or "")
    if not m:
        raise Bad(f"line {lines[i][0] if i < len(lines) else 'EOF'}: expected plan '1..N'")
    planned, seen, failed = int(m.group(1)), 0, False
    i += 1
    pending_subtest = False
    while i < len(lines):
        text = lines[i][1]
        if text.startswith(pad + "  KTAP version 1"):
            if pending_subtest:
                raise Bad(f"line {lines[i][0]}: subtest without its result line")
            i, _, _ = parse(lines, i, indent + 2)
            pending_subtest = True
            continue
        b = body(i)
        if b is None or b.startswith(" "):
            break  # back to the parent (or stray deeper text, rejected by the parent)
        if b.startswith("#"):
            if b.startswith("# Subtest:") and pending_subtest:
                raise Bad(f"line {lines[i][0]}: subtest without its result line")
            i += 1
            continue
        r = RESULT.match(b)
        if not r:
            raise Bad(f"line {lines[i][0]}: not a KTAP line: {text!r}")
        seen += 1
        if int(r.group(2)) != seen:
            raise Bad(f"line {lines[i][0]}: test number {r.group(2)}, expected {seen}")
        if r.group(4) == "SKIP" and not r.group(5):
            raise Bad(f"line {lines[i][0]}: SKIP without a reason")
        failed = failed or r.group(1) == "not ok"
        pending_subtest = False
        i += 1
    if pending_subtest:
        raise Bad("subtest without its result line at the end")
    if seen != planned:
        raise Bad(f"document at indent {indent}: plan 1..{planned} but {seen} results")
    return i, seen, failed


def main(path):
    lines = [(n + 1, l.rstrip("\n")) for n, l in enumerate(open(path)) if l.strip()]
    try:
        end, n, failed = parse(lines, 0, 0)
        if end != len(lines):
            raise Bad(f"line {lines[end][0]}: unexpected text after the document: {lines[end][1]!r}")
    except Bad as e:
        print(f"{path}: {e}")
        return 1
    print(f"{path}: KTAP version 1, {n} top-level results{' (some not ok)' if failed else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
