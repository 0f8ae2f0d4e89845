#!/usr/bin/env bash
# Usage errors of the ctbench CLI: exit code 2, a message naming the argument and the valid values.
# Runs without root: these checks happen before anything touches the host.
set -u
fails=0
check() {  # check NAME EXPECTED_EXIT EXPECTED_TEXT -- ARGS...
  local name="$1" want_rc="$2" want_text="$3"; shift 4
  local out rc
  out="$("$CTBENCH" "$@" 2>&1)"; rc=$?
  if [ "$rc" != "$want_rc" ]; then echo "FAIL $name: exit $rc, want $want_rc; output: $out"; fails=$((fails+1)); return; fi
  if ! grep -qF -- "$want_text" <<<"$out"; then echo "FAIL $name: output lacks '$want_text': $out"; fails=$((fails+1)); return; fi
  echo "ok   $name"
}
check unknown-suite 2 "valid suites: all, conformance, bench, ns" -- run --suite nosuch
check unknown-suite-names-it 2 "--suite 'nosuch'" -- run --suite nosuch
check unknown-format 2 "valid formats: json, junit, tap" -- run --format yaml
check bad-filter 2 "--filter 'ns.(pid'" -- run --filter 'ns.(pid'
check bad-runtime 2 "--runtime '/nonexistent/runc'" -- run --runtime /nonexistent/runc
check negative-timeout 2 "--timeout" -- run --timeout -1
check unknown-flag 2 "--bogus" -- run --bogus
check verbose-and-quiet 2 "--verbose --quiet: choose one" -- run --verbose --quiet
check trace-without-command 2 "command is required" -- trace
check trace-bad-repetitions 2 "--repetitions" -- trace --repetitions 0 -- /bin/true
check no-subcommand 2 "subcommand" --
check list-bad-suite 2 "valid suites" -- list --suite nosuch
check doctor-bad-format 2 "valid formats: text, json" -- doctor --format yaml
check report-missing-file 2 "/nonexistent.json" -- report /nonexistent.json
check compare-needs-two 2 "candidate" -- compare /nonexistent.json
check version 0 "ctbench 0." -- --version
check list-suites 0 "suites: all, conformance, bench" -- list
[ "$fails" = 0 ]
