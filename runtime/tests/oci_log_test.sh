#!/usr/bin/env bash
# --log FILE and --log-format json|text, written as runc writes them (logrus: one object per line
# with level, msg and time; or time="..." level=... msg="..."): every error the runtime prints
# also goes there, through both binaries (the static front end and the full CLI it hands over
# to), warnings too (an ambient capability the kernel will not raise, from the container's init).
# Bad --log-format or an unopenable --log: an error naming the option, exit 2.
set -u
. "$(dirname "$0")/oci_lib.sh"

b="$WORK/b"
spec_bundle "$b"
edit_config "$b/config.json" 'c["process"]["terminal"] = False; c["process"]["args"] = ["/bin/no-such-binary"]'

# check_log FILE FORMAT LEVEL PATTERN: every line is a well-formed record of FORMAT, and one of
# LEVEL has a msg matching PATTERN (Python regex).
check_log() {
  /usr/bin/python3 - "$@" <<'PY'
import datetime, json, re, sys
path, fmt, level, pattern = sys.argv[1:]
lines = open(path).read().splitlines()
assert lines, "the log is empty"
recs = []
for line in lines:
    if fmt == "json":
        r = json.loads(line)
        assert list(r) == ["level", "msg", "time"], f"keys {list(r)}"
    else:
        m = re.fullmatch(r'time="([^"]+)" level=(\w+) msg="((?:[^"\\]|\\.)*)"', line)
        assert m, f"not logrus text: {line}"
        r = {"time": m[1], "level": m[2], "msg": json.loads('"' + m[3] + '"')}
    datetime.datetime.strptime(r["time"][:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ")  # RFC 3339 (ns cut to us)
    recs.append(r)
hits = [r for r in recs if r["level"] == level and re.search(pattern, r["msg"])]
assert hits, f"no {level} record matching {pattern!r} in {recs}"
print(f"     {fmt}: {hits[0]}")
PY
}

for format in json text; do
  log="$WORK/runtime.$format.log"
  id="oci-log-$format"
  uses "$id"
  rt --log "$log" --log-format "$format" create -b "$b" "$id" 2>"$WORK/err"; rc=$?
  check "$format: failing create exits non-zero" [ "$rc" != 0 ]
  check "$format: the error is on stderr" grep -q "no-such-binary" "$WORK/err"
  check "$format: the error is in the log, as logrus writes it" check_log "$log" "$format" error 'exec .*no-such-binary.*ENOENT'
  check "$format: nothing left of the failed create" [ ! -e "$ROOT/$id" ]
  # The full CLI (exec is not the front end's) appends to the same file.
  rt --log="$log" --log-format="$format" exec "$id" true 2>/dev/null
  check "$format: the full CLI's error appended" check_log "$log" "$format" error "$id.*does not exist"
  check "$format: both errors in the file" [ "$(wc -l <"$log")" -ge 2 ]
done

# A warning: runc's own spec lists ambient capabilities that are not inheritable; the init skips
# them and says so, in the log too.
w="$WORK/w"
make_bundle "$w"
cp "$b/config.json" "$w/config.json"
edit_config "$w/config.json" 'c["process"]["args"] = ["true"]; c["process"]["capabilities"]["ambient"] = ["CAP_KILL"]; c["process"]["capabilities"].pop("inheritable", None)'
uses oci-log-warn
rt --log "$WORK/warn.log" --log-format json run -b "$w" oci-log-warn 2>/dev/null
check "run with an unraisable ambient capability succeeds" [ $? = 0 ]
check "its warning is in the log" check_log "$WORK/warn.log" json warning 'cannot raise ambient capability CAP_KILL'

# A usage error is logged too (the argument parser's message).
rt --log "$WORK/usage.log" --log-format json create --no-such-flag x 2>/dev/null
check "usage error exits 2" [ $? = 2 ]
check "usage error logged" check_log "$WORK/usage.log" json error 'no-such-flag'

# Bad options: named, exit 2, nothing created.
out="$(rt --log-format yaml state x 2>&1)"; rc=$?
check "--log-format yaml: exit 2 naming the option ($out)" sh -c "[ $rc = 2 ] && echo '$out' | grep -q -- '--log-format.*text or json'"
out="$(rt --log "$WORK/no/such/dir/log" create -b "$b" oci-log-x 2>&1)"; rc=$?
check "--log in a missing dir: exit 2 naming the option ($out)" sh -c "[ $rc = 2 ] && echo '$out' | grep -q -- '--log: open'"
check "--log failure created nothing" [ ! -e "$ROOT/oci-log-x" ]

[ "$fails" = 0 ]
