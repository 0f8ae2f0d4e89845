#!/usr/bin/python3
"""Validate JSON documents against ctbench's report schema (Debian's python3-jsonschema).

usage: validate-json.py SCHEMA FILE [FILE...] [--def NAME]
  --def NAME   validate against $defs/NAME instead of the whole schema (doctor output: hostProbe)
Exit 0 when every file is valid; 1 with one line per violation otherwise; 2 on usage errors.
"""
import json
import sys

import jsonschema


def main(argv):
    args = [a for a in argv[1:]]
    definition = None
    if "--def" in args:
        i = args.index("--def")
        if i + 1 >= len(args):
            print("validate-json: --def needs a name", file=sys.stderr)
            return 2
        definition = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as f:
        schema = json.load(f)
    if definition is not None:
        if definition not in schema.get("$defs", {}):
            print(f"validate-json: no $defs/{definition} in {args[0]}", file=sys.stderr)
            return 2
        schema = {"$schema": schema["$schema"], "$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    bad = 0
    for path in args[1:]:
        with open(path) as f:
            doc = json.load(f)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in error.path) or "(root)"
            print(f"{path}: {where}: {error.message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
