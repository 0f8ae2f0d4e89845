#!/usr/bin/env bash
# A case killed at its deadline has what it started swept at once, not by the next run: the
# report lists what was removed (evidence "swept", and the reason), and nothing of ctbench is
# left on the host when `ctbench run` returns. With the built-in library and with runc.
# Also: a frozen leftover cgroup (v1 freezer) is thawed, so its processes can die and the
# cgroup can go.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
tmp="$(mktemp -d /tmp/ctbench-sweep-test.XXXXXX)"
# Whatever happens, leave no frozen cgroup behind (a cleanup without the thaw could not remove it).
thaw_all() {
  local f
  for f in /sys/fs/cgroup/*/ctbench/*/freezer.state /sys/fs/cgroup/ctbench/*/cgroup.freeze \
           /sys/fs/cgroup/*/ctbench/*/cgroup.freeze; do
    [ -f "$f" ] || continue
    case "$(cat "$f" 2>/dev/null)" in FROZEN|FREEZING) echo THAWED >"$f" ;; 1) echo 0 >"$f" ;; esac 2>/dev/null
  done
}
finish() { thaw_all; "$CTBENCH" doctor --cleanup >/dev/null 2>&1; rm -rf "$tmp"; }
trap finish EXIT
trap 'exit 143' TERM INT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }

# Another run (or cleanup) in progress holds the run lock: let it finish first.
command -v flock >/dev/null 2>&1 && flock -w 120 /run/ctbench.lock true

# Cases that keep a container running for about a second (this host starts one in ~20 ms), killed
# well before they end: the freezer case (its container is frozen for 0.35..0.95 s, so the sweep
# meets a frozen cgroup) and the CPU quota case (two containers spinning for 1 s).
runnable() {  # $1: case id
  "$CTBENCH" run --suite cgroup --filter "^${1//./\\.}\$" --list 2>/dev/null | grep -q "^$1  *run$"
}

# Everything of ctbench on the host, one per line ("" when clean).
leftovers() {
  local root d
  for root in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -d "$root/ctbench" ] || continue
    find "$root/ctbench" -mindepth 1 -type d -printf 'cgroup %p\n' 2>/dev/null
    for d in $(find "$root/ctbench" -name cgroup.procs 2>/dev/null); do
      [ -s "$d" ] && echo "processes in $d: $(tr '\n' ' ' <"$d")"
    done
  done
  find /run/ctbench -mindepth 1 -maxdepth 3 -printf 'state %p\n' 2>/dev/null
  awk '$5 ~ /ctbench/ || $0 ~ /(lowerdir|upperdir|workdir)=[^ ]*ctbench/ {print "mount "$5}' /proc/self/mountinfo
  # Runtime CLIs and container processes name the container (ctbc-<pid>-<n>); zombies are gone.
  ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/ && /ctbc-[0-9]+-[0-9]+/ && !/awk/ {print "process "$0}'
  ip -o link 2>/dev/null | awk -F': ' '$2 ~ /^ctb/ {print "link "$2}'
}

# Start from a clean host, so what is swept can only be the killed case's.
"$CTBENCH" doctor --cleanup >/dev/null 2>&1
before="$(leftovers)"
[ -z "$before" ] || { echo "host not clean before the test:"; echo "$before"; fail "clean start"; }

run_killed_case() {  # $1: runtime name, $2: case id, $3: timeout (s)
  local runtime="$1" case_id="$2" timeout="$3"
  local report="$tmp/report-$runtime-$case_id.json" label="$runtime $case_id"
  if ! runnable "$case_id"; then
    echo "ok   $label: the case does not run on this host, not tried"
    return
  fi
  tried=$((tried+1))
  "$CTBENCH" run --suite cgroup --filter "^${case_id//./\\.}\$" --runtime "$runtime" --timeout "$timeout" \
    --format json --output "$report" >"$tmp/run-$runtime.out" 2>&1
  local rc=$?
  # Immediately after the run, before anything else could clean up.
  local left
  left="$(leftovers)"
  [ "$rc" = 1 ] && ok "$label: run exit 1 (the case errored)" || { fail "$label: run exit $rc"; cat "$tmp/run-$runtime.out"; }
  [ -z "$left" ] && ok "$label: nothing left after the run" || fail "$label: left after the run: $left"
  "$VALIDATE" "$SCHEMA" "$report" && ok "$label: report is schema-valid" || fail "$label: report schema"
  /usr/bin/python3 - "$report" "$case_id" <<'EOF' && ok "$label: report shows the timeout and what was swept" || fail "$label: report"
import json, sys
report, case_id = sys.argv[1], sys.argv[2]
cases = [c for c in json.load(open(report))["conformance"] if c["id"] == case_id]
assert len(cases) == 1, f"{case_id} not in the report"
c = cases[0]
print(f"     outcome: {c['outcome']}; reason: {c['reason']}")
swept = c["evidence"].get("swept")
print(f"     swept: {swept}")
assert c["outcome"] == "error", "outcome is not error"
assert "timed out" in c["reason"], "reason does not say timed out"
assert isinstance(swept, list) and swept, "evidence.swept is missing or empty"
kinds = {s.split(" ", 1)[0] for s in swept}
assert kinds & {"process", "cgroup", "state"}, f"no process, cgroup or state swept: {kinds}"
assert "cgroup" in kinds, "the killed case's container cgroups were not swept"
assert "swept what it left" in c["reason"], "the reason does not mention the sweep"
failed = [s for s in swept if ": " in s]
assert not failed, f"some removals failed: {failed}"
EOF
}

tried=0
run_killed_case ctbench cgroup.freezer.stops_and_resumes 0.6
run_killed_case ctbench cgroup.cpu.quota 0.5
if command -v runc >/dev/null 2>&1; then
  run_killed_case runc cgroup.freezer.stops_and_resumes 0.6
else
  echo "ok   runc: not installed, not tried"
fi
if [ "$tried" = 0 ]; then
  echo "skipping: none of the cases runs on this host"
  exit 77
fi

# A frozen leftover: its process cannot die until the cgroup is thawed (cgroup v1 freezer).
alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)"; [ -n "$st" ] && [ "${st:0:1}" != Z ]; }
if grep -q ' /sys/fs/cgroup/freezer .* - cgroup .*freezer' /proc/self/mountinfo; then
  frozen=/sys/fs/cgroup/freezer/ctbench/ctbc-sweeptest-0
  mkdir -p "$frozen"
  sleep 300 &
  sleeper=$!
  echo "$sleeper" >"$frozen/cgroup.procs"
  echo FROZEN >"$frozen/freezer.state"
  "$CTBENCH" doctor --cleanup >"$tmp/cleanup.out" 2>&1
  for _ in $(seq 50); do alive "$sleeper" || break; sleep 0.1; done  # bounded: never wait on a frozen one
  if [ -d "$frozen" ] || alive "$sleeper"; then
    fail "frozen leftover not removed: $(cat "$tmp/cleanup.out")"
    echo THAWED >"$frozen/freezer.state" 2>/dev/null
    kill -9 "$sleeper" 2>/dev/null
  else
    ok "frozen leftover thawed and removed"
  fi
  { wait "$sleeper"; } 2>/dev/null
  rmdir "$frozen" 2>/dev/null
else
  echo "ok   no cgroup v1 freezer: frozen leftover not tried"
fi

[ "$fails" = 0 ]
