#!/usr/bin/env bash
# process.terminal with --console-socket (root): the pty master arrives at a small receiver over
# SCM_RIGHTS, the process has the pty as its controlling terminal and stdio, and what it prints
# comes out of the master. A socket nobody listens on fails create with the errno, nothing left.
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
make_bundle "$B"
(cd "$B" && "$RT" spec) || fail "spec"
edit_config "$B/config.json" "c['process']['terminal'] = True
c['process']['args'] = ['/bin/sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo tty-yes; tty; echo console-done']"
uses ct ct-refused
SOCK="$WORK/console.sock"
/usr/bin/python3 "$(dirname "$0")/console_receiver.py" "$SOCK" "$WORK/console.out" > "$WORK/receiver.log" &
receiver=$!
for _ in $(seq 50); do grep -q ready "$WORK/receiver.log" 2>/dev/null && break; sleep 0.1; done
rt run --bundle "$B" --console-socket "$SOCK" ct >/dev/null 2>"$WORK/err"; rc=$?
wait "$receiver"
out="$(tr -d '\r' < "$WORK/console.out" 2>/dev/null)"
[ $rc = 0 ] && ok "run with a console socket" || fail "run: rc=$rc $(cat "$WORK/err")"
grep -q "tag=console isatty=True" <<<"$out" && ok "the receiver got a terminal fd over SCM_RIGHTS" || fail "receiver: $out"
grep -qx tty-yes <<<"$out" && grep -q "^/dev/pts/" <<<"$out" && grep -qx console-done <<<"$out" && ok "the process runs on the pty" || fail "console output: $out"
# Nobody listening: refused, named, nothing left.
: > "$WORK/dead.sock"; rm -f "$WORK/dead.sock"
out="$(rt create --bundle "$B" --console-socket "$WORK/dead.sock" ct-refused 2>&1 </dev/null >/dev/null)"; rc=$?
[ $rc != 0 ] && grep -q "connect console socket.*ENOENT" <<<"$out" && ok "missing console socket refused: $out" || fail "dead socket: rc=$rc $out"
[ ! -e "$ROOT/ct-refused" ] && [ -z "$(cgroups_left '/ct-refused$')" ] && ok "nothing left" || fail "left state"
[ "$fails" = 0 ]
