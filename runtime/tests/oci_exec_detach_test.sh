#!/usr/bin/env bash
# `exec -d` (runc's detached exec; root): the command returns while the process runs on in the
# container (its pid namespace, its cgroup), --pid-file holds its host pid, `ps` lists it, it is
# killed by that pid and goes; `exec --pid-file` in the foreground too. Refusals: -d -t without
# --console-socket, a missing executable (the error names it, no process stays), a container
# that is not running.
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
spec_bundle "$B"
edit_config "$B/config.json" "c['process']['args'] = ['/bin/sleep', '120']
c['process']['terminal'] = False"
uses xd
rt run -d --bundle "$B" xd >/dev/null 2>"$WORK/err" || fail "run -d: $(cat "$WORK/err")"
init="$(rt state xd | json_field pid)"

# 1. exec -d returns with the process running.
rt exec -d --pid-file "$WORK/pid" xd /bin/sleep 77 >/dev/null 2>"$WORK/err" && ok "exec -d returned 0" || fail "exec -d: $(cat "$WORK/err")"
pid="$(cat "$WORK/pid" 2>/dev/null)"
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ok "the process (pid $pid) runs after exec -d returned" || fail "no live process in the pid file: [$pid]"
[ "$(tr '\0' ' ' < /proc/"$pid"/cmdline 2>/dev/null)" = "/bin/sleep 77 " ] && ok "it is the command given" || fail "cmdline: $(tr '\0' ' ' < /proc/"$pid"/cmdline 2>&1)"
[ "$(readlink /proc/"$pid"/ns/pid)" = "$(readlink /proc/"$init"/ns/pid)" ] && ok "in the container's pid namespace" || fail "pid ns differs"
[ "$(cat /proc/"$pid"/cgroup)" = "$(cat /proc/"$init"/cgroup)" ] && ok "in the container's cgroups" || fail "cgroup: $(cat /proc/"$pid"/cgroup)"
rt ps --format json xd | grep -qw "$pid" && ok "ps lists it" || fail "ps: $(rt ps --format json xd)"
kill "$pid"  # the process this test started, by pid
gone=no
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { gone=yes; break; }; sleep 0.05; done
[ "$gone" = yes ] && ok "killed by its pid, it goes" || fail "pid $pid still there"
rt ps --format json xd | grep -qw "$pid" && fail "ps still lists $pid" || ok "ps no longer lists it"

# 2. Foreground exec with --pid-file: the file names the process while it runs.
rt exec --pid-file "$WORK/pid2" xd /bin/sleep 3 >/dev/null 2>"$WORK/err2" &
fg=$!
for _ in $(seq 100); do [ -s "$WORK/pid2" ] && break; sleep 0.05; done
p2="$(cat "$WORK/pid2" 2>/dev/null)"
[ -n "$p2" ] && [ "$(tr '\0' ' ' < /proc/"$p2"/cmdline 2>/dev/null)" = "/bin/sleep 3 " ] \
  && ok "foreground exec --pid-file names the running process ($p2)" || fail "pid2: [$p2] $(cat "$WORK/err2")"
wait "$fg" && ok "foreground exec returned the process's status 0" || fail "foreground exec: $(cat "$WORK/err2")"

# 3. Refusals.
before="$(rt ps --format json xd)"
rt exec -d -t xd /bin/true >/dev/null 2>"$WORK/err" && fail "-d -t without a socket accepted" \
  || { grep -q -- "--console-socket" "$WORK/err" && ok "-d -t without --console-socket refused: $(cat "$WORK/err")" || fail "-d -t: $(cat "$WORK/err")"; }
rt exec -d --pid-file "$WORK/pid3" xd /no/such/binary >/dev/null 2>"$WORK/err" && fail "missing binary accepted" \
  || { grep -q "/no/such/binary" "$WORK/err" && ok "missing executable refused: $(cat "$WORK/err")" || fail "missing: $(cat "$WORK/err")"; }
[ "$(rt ps --format json xd)" = "$before" ] && ok "no process left by the refusals" || fail "ps now $(rt ps --format json xd), was $before"
rt exec -d --pid-file /no/such/dir/pid xd /bin/sleep 55 >/dev/null 2>"$WORK/err" && fail "unwritable pid file accepted" \
  || { grep -q "/no/such/dir/pid" "$WORK/err" && ok "unwritable pid file refused: $(cat "$WORK/err")" || fail "pid file: $(cat "$WORK/err")"; }
for _ in $(seq 100); do [ "$(rt ps --format json xd)" = "$before" ] && break; sleep 0.05; done
[ "$(rt ps --format json xd)" = "$before" ] && ok "the process of a refused pid file is killed" || fail "ps now $(rt ps --format json xd)"
rt kill xd KILL
for _ in $(seq 100); do [ "$(status_of xd)" = stopped ] && break; sleep 0.05; done
rt exec -d xd /bin/true >/dev/null 2>"$WORK/err" && fail "exec -d into a stopped container accepted" \
  || { grep -q "not running" "$WORK/err" && ok "stopped container refused: $(cat "$WORK/err")" || fail "stopped: $(cat "$WORK/err")"; }
rt delete --force xd || fail "delete"
[ ! -e "$ROOT/xd" ] && [ -z "$(cgroups_left '/xd$')" ] && ok "nothing left" || fail "left state or cgroups"
[ "$fails" = 0 ]
