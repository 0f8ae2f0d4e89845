#!/usr/bin/env bash
# process.terminal without a console socket, and process.consoleSize (root). The caller is a real
# pty (runtime/tests/pty_caller.py, a user at a terminal of a given size):
#   consoleSize is the pty's size (stty size inside, through the --console-socket receiver);
#   a foreground `run` at a terminal attaches it: the process has a pty of the container's
#   devpts, reads what the caller types, has the caller's window size, and its exit status is
#   the runtime's; without a terminal to attach (piped stdin, create, run -d) the flag is
#   ignored with a warning and the process keeps the caller's stdio;
#   `exec -t` likewise, in a running container; `exec -t --console-socket` sends the master away;
#   a malformed consoleSize is refused naming the field.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/oci_lib.sh"

b="$WORK/b"
spec_bundle "$b"
at_terminal() {  # ROWS COLS INPUT ARGS...: the runtime at a pty; prints what it showed + EXIT n
  local rows="$1" cols="$2" input="$3"; shift 3
  /usr/bin/python3 "$HERE/pty_caller.py" "$rows" "$cols" "$input" "$RT" --root "$ROOT" "$@"
}
set_process() { edit_config "$b/config.json" "c['process']['terminal'] = True; c['process'].pop('consoleSize', None); $1"; }

# consoleSize, seen by the process through the console socket's pty.
uses t-size
set_process "c['process']['consoleSize'] = {'height': 37, 'width': 123}; c['process']['args'] = ['sh', '-c', 'stty size']"
SOCK="$WORK/console.sock"
/usr/bin/python3 "$HERE/console_receiver.py" "$SOCK" "$WORK/console.out" >"$WORK/receiver.log" &
receiver=$!
for _ in $(seq 50); do grep -q ready "$WORK/receiver.log" 2>/dev/null && break; sleep 0.1; done
rt run -b "$b" --console-socket "$SOCK" t-size >/dev/null 2>"$WORK/err"; rc=$?
wait "$receiver"
out="$(tr -d '\r' <"$WORK/console.out" 2>/dev/null)"
check "consoleSize 37x123 is the pty's size (stty size: $(tail -1 <<<"$out"))" sh -c "[ $rc = 0 ] && echo '$out' | grep -qx '37 123'"

# A foreground run at the caller's terminal (33x111): input, size, pty, exit status.
uses t-run
set_process "c['process']['args'] = ['sh', '-c', 'read x; echo got:\$x; stty size; tty; exit 7']"
out="$(at_terminal 33 111 'hello\n' run -b "$b" t-run)"
echo "$out" | sed 's/^/     | /'
check "run: the process read what the caller typed" grep -qx "got:hello" <<<"$out"
check "run: the pty has the caller's window size" grep -qx "33 111" <<<"$out"
check "run: the process's terminal is a pty of the container" grep -qx "/dev/pts/[0-9]*" <<<"$out"
check "run: its exit status is the runtime's" grep -qx "EXIT 7" <<<"$out"
check "run: the caller's terminal restored" grep -qx "TERMINAL restored" <<<"$out"
check "run: nothing left" sh -c "[ ! -e '$ROOT/t-run' ] && [ -z \"\$(find /sys/fs/cgroup -maxdepth 3 -path '*/ctbench/t-run' 2>/dev/null)\" ]"

# consoleSize is the start size; the caller's terminal, when there is one, wins (runc's order).
uses t-both
set_process "c['process']['consoleSize'] = {'height': 37, 'width': 123}; c['process']['args'] = ['stty', 'size']"
out="$(at_terminal 25 90 '' run -b "$b" t-both)"
echo "$out" | sed "s/^/     | /"
check "run at a terminal: the caller's size over consoleSize" grep -qx "25 90" <<<"$out"

# No terminal to attach (a piped stdin, create, run -d): the flag is ignored with a warning and
# the process keeps the caller's stdio (the pipe's data arrives unchanged, no echo, no CRLF).
uses t-pipe t-create t-detach
set_process "c['process']['args'] = ['cat']"
out="$(printf 'line-one\nline-two\n' | timeout 60 "$RT" --root "$ROOT" run -b "$b" t-pipe 2>"$WORK/err")"; rc=$?
check "piped stdin: cat got the pipe unchanged (rc $rc)" sh -c "[ $rc = 0 ] && [ \"\$(printf '%s' '$out' | od -c | head -1)\" = \"\$(printf 'line-one\nline-two' | od -c | head -1)\" ]"
check "piped stdin: the ignored terminal is a warning" grep -q "warning: process.terminal ignored: no --console-socket, and stdin is not a terminal" "$WORK/err"
set_process "c['process']['args'] = ['sh', '-c', '[ -t 0 ] && echo tty || echo no-tty']"
rt create -b "$b" t-create </dev/null >/dev/null 2>"$WORK/err" && ok "create without --console-socket: created" || fail "create t-create: $(cat "$WORK/err")"
check "... with a warning" grep -q "process.terminal ignored" "$WORK/err"
rt start t-create >/dev/null 2>&1; rt delete --force t-create
out="$(rt run -d -b "$b" t-detach 2>&1 </dev/null)" && ok "run -d without --console-socket: started ($out)" || fail "run -d t-detach: $out"
rt delete --force t-detach
check "... nothing left" sh -c "[ ! -e '$ROOT/t-create' ] && [ ! -e '$ROOT/t-detach' ]"

# exec -t in a running container (whose own process has no terminal).
uses t-exec
edit_config "$b/config.json" "c['process']['terminal'] = False; c['process']['args'] = ['sleep', '600']"
rt run -d -b "$b" t-exec </dev/null || fail "run -d t-exec"
out="$(at_terminal 21 77 'abc\n' exec -t t-exec sh -c 'read y; echo exec-got:$y; stty size; tty; exit 3')"
echo "$out" | sed 's/^/     | /'
check "exec -t: read what the caller typed" grep -qx "exec-got:abc" <<<"$out"
check "exec -t: the caller's window size" grep -qx "21 77" <<<"$out"
check "exec -t: a pty of the container" grep -qx "/dev/pts/[0-9]*" <<<"$out"
check "exec -t: exit status" grep -qx "EXIT 3" <<<"$out"
check "exec -t: the caller's terminal restored" grep -qx "TERMINAL restored" <<<"$out"
out="$(at_terminal 21 77 '' exec -t t-exec /no/such/program)"
check "exec -t of a missing program: an error, named" sh -c "echo '$out' | grep -q 'no/such/program' && ! echo '$out' | grep -qx 'EXIT 0'"
# exec --console-socket (what containerd does for an exec with a tty): the receiver gets the master.
SOCK2="$WORK/exec-console.sock"
/usr/bin/python3 "$HERE/console_receiver.py" "$SOCK2" "$WORK/exec-console.out" >"$WORK/receiver2.log" &
receiver=$!
for _ in $(seq 50); do grep -q ready "$WORK/receiver2.log" 2>/dev/null && break; sleep 0.1; done
rt exec -t --console-socket "$SOCK2" t-exec sh -c 'tty; echo exec-console-done' </dev/null >/dev/null 2>"$WORK/err"; rc=$?
wait "$receiver"
out="$(tr -d '\r' <"$WORK/exec-console.out" 2>/dev/null)"
check "exec --console-socket: the receiver got the pty master, the process ran on it" \
  sh -c "[ $rc = 0 ] && echo '$out' | grep -q 'isatty=True' && echo '$out' | grep -q '^/dev/pts/' && echo '$out' | grep -qx exec-console-done"
out="$(rt exec --console-socket "$SOCK2" t-exec true 2>&1 </dev/null)"; rc=$?
check "exec --console-socket without -t refused ($out)" sh -c "[ $rc != 0 ] && echo '$out' | grep -q -- '--console-socket: needs a terminal'"
out="$(rt exec t-exec sh -c 'tty; true' </dev/null 2>&1)"
check "exec without -t keeps the caller's stdio (no pty: $out)" sh -c "! echo '$out' | grep -q '^/dev/pts/'"
rt delete --force t-exec

# A malformed consoleSize: named.
edit_config "$b/config.json" "c['process']['terminal'] = True; c['process']['consoleSize'] = {'height': 'x', 'width': 1}"
out="$(rt run -b "$b" t-bad 2>&1 </dev/null)"; rc=$?
check "malformed consoleSize refused naming the field ($out)" sh -c "[ $rc != 0 ] && echo '$out' | grep -q 'process.consoleSize.height'"
check "... nothing left" [ ! -e "$ROOT/t-bad" ]

[ "$fails" = 0 ]
