#!/usr/bin/env bash
# A runtime SIGKILLed at any point of `run` (create: state, cgroups, clone, setup; start; wait;
# delete) leaves state that `delete --force` removes completely: no state directory, no cgroup
# directory, no process of the container. Two ways to land the kill:
#  - exactly at the n-th mkdir, rename, write, openat and clone3 of the runtime (strace's fault
#    injection delivers SIGKILL at that call's entry), which walks every step of create;
#  - after a busy loop of growing length while `run` goes on by itself.
source "$(dirname "$0")/oci_lib.sh"
spec_bundle "$WORK/b"
edit_config "$WORK/b/config.json" "c['process']['args'] = ['/bin/sleep', '1']"
# check ID WHEN: delete --force must leave nothing of ID.
check_removed() {
  local id="$1" when="$2" had out left_state left_cgroups left_procs
  # What the kill left for delete (evidence that the kills land in different steps).
  had="state [$(ls "$ROOT/$id" 2>/dev/null | tr '\n' ' ')] cgroup dirs $(cgroups_left "/$id\$" | wc -l)"
  out="$(rt delete --force "$id" 2>&1)" || fail "delete --force after a SIGKILL $when: $out"
  left_state="$(ls -d "$ROOT/$id" 2>/dev/null)"
  left_cgroups="$(cgroups_left "/$id\$")"
  left_procs="$(pgrep -f "^/bin/sleep 1\$" 2>/dev/null | while read -r p; do grep -l "ctbench.*/$id\$" "/proc/$p/cgroup" 2>/dev/null; done)"
  if [ -z "$left_state$left_cgroups$left_procs" ]; then ok "SIGKILL $when (left $had): delete --force removed everything"
  else fail "SIGKILL $when left: state '$left_state' cgroups '$left_cgroups' processes '$left_procs'"; fi
}

if command -v strace >/dev/null; then
  for call in mkdir rename write openat clone3; do
    for n in 1 2 3 4 6 8 12 16; do
      id="s-$call-$n"
      uses "$id"
      strace -qq -o /dev/null -e trace="$call" -e inject="$call:signal=SIGKILL:when=$n" \
        "$RT" --root "$ROOT" run --bundle "$WORK/b" "$id" >/dev/null 2>&1 &
      wait $! 2>/dev/null  # (quietly: the shell would report the kill)
      check_removed "$id" "at $call #$n"
    done
  done
else
  echo "strace is missing: only the timed kills run"
fi

for i in $(seq 0 24); do
  id="k$i"
  uses "$id"
  "$RT" --root "$ROOT" run --bundle "$WORK/b" "$id" >/dev/null 2>&1 &
  runtime=$!
  for ((j = 0; j < i * 200; j++)); do :; done
  kill -KILL "$runtime" 2>/dev/null
  wait "$runtime" 2>/dev/null
  check_removed "$id" "after ${i}x200 spins"
done
[ "$fails" = 0 ]
