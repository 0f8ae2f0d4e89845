# Shared by the bench tests (sourced after $tmp exists).
# Another run may hold /run/ctbench.lock: wait for it, bounded (10 minutes over the whole test).
lock_deadline=$(( $(date +%s) + 600 ))
run_locked() {  # run_locked ARGS...: ctbench run ARGS, retried while the lock is held; sets rc, stderr in $tmp/err
  while :; do
    "$@" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] && grep -q "ctbench.lock" "$tmp/err" && [ "$(date +%s)" -lt "$lock_deadline" ] || return 0
    sleep 5
  done
}
