#!/usr/bin/env bash
# OCI hooks (root): every kind runs once, in lifecycle order, with the state JSON on stdin, its
# args and env, in the namespaces the spec names (prestart/createRuntime/poststart/poststop in the
# runtime's mount namespace, createContainer/startContainer in the container's). A failing, a
# missing and a timing-out hook fail their operation and leave nothing; poststart failure warns.
set -u
. "$(dirname "$0")/oci_lib.sh"
B="$WORK/b"
make_bundle "$B"
(cd "$B" && "$RT" spec) || fail "spec"
# The hook: appends "<kind> <mount ns> <HOOKVAR> <state on one line>" to the log given as $2.
cat > "$B/rootfs/hook.sh" <<'SH'
#!/bin/sh
state="$(cat | tr -d '\n')"
echo "$1 $(readlink /proc/self/ns/mnt) $HOOKVAR $state" >> "$2"
[ -z "$3" ] || exit "$3"
SH
chmod 755 "$B/rootfs/hook.sh"
cp "$B/config.json" "$WORK/base.json"
LOG="$B/rootfs/log"   # the container's /log
capture() { "$@" >"$WORK/out" 2>&1; rc=$?; out="$(cat "$WORK/out")"; }
# hooks_config PYTHON-DICT-OF-KIND-TO-HOOK-LIST
hooks_config() {
  cp "$WORK/base.json" "$B/config.json"
  edit_config "$B/config.json" "
h = lambda kind, log, code='': {'path': $(printf '%s' "'$B/rootfs/hook.sh'"), 'args': ['hook', kind, log, code], 'env': ['HOOKVAR=v-' + kind]}
c['process']['args'] = ['/bin/true']
c['hooks'] = $1"
}
host_mnt="$(readlink /proc/self/ns/mnt)"
uses h-all h-fail h-missing h-timeout h-start-fail h-poststart-fail h-run-all h-run-start-fail

# 1. Every kind, in order.
hooks_config "{'prestart': [h('prestart', '$LOG')], 'createRuntime': [h('createRuntime', '$LOG')],
  'createContainer': [h('createContainer', '$LOG')],
  'startContainer': [dict(h('startContainer', '/log'), path='/hook.sh')],
  'poststart': [h('poststart', '$LOG')], 'poststop': [h('poststop', '$LOG')]}"
rm -f "$LOG"
rt create --bundle "$B" h-all >/dev/null 2>"$WORK/err" || fail "create with hooks: $(cat "$WORK/err")"
ctr_mnt="$(readlink /proc/"$(rt state h-all | json_field pid)"/ns/mnt)"
rt start h-all || fail "start with hooks"
for _ in $(seq 50); do [ "$(status_of h-all)" = stopped ] && break; sleep 0.1; done
rt delete h-all || fail "delete with hooks"
order="$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')"
[ "$order" = "prestart createRuntime createContainer startContainer poststart poststop " ] && ok "hooks ran in lifecycle order" || fail "hook order: $order"
while read -r kind mnt var state; do
  status="$(json_field status <<<"$state")"; id="$(json_field id <<<"$state")"
  case $kind in
    prestart|createRuntime|createContainer) want=creating ;;
    startContainer) want=created ;;
    poststart) want=running ;;
    poststop) want=stopped ;;
  esac
  case $kind in createContainer|startContainer) want_mnt="$ctr_mnt" ;; *) want_mnt="$host_mnt" ;; esac
  [ "$status" = "$want" ] && [ "$id" = h-all ] && ok "$kind read the state on stdin (status $status)" || fail "$kind state: $state"
  [ "$var" = "v-$kind" ] && ok "$kind got its env" || fail "$kind env: $var"
  [ "$mnt" = "$want_mnt" ] && ok "$kind ran in the right mount namespace" || fail "$kind mount ns $mnt (host $host_mnt, container $ctr_mnt)"
done < "$LOG"

# 2. A failing createRuntime hook: create fails naming it, nothing stays, poststop still runs.
hooks_config "{'createRuntime': [h('createRuntime', '$LOG', '3')], 'poststop': [h('poststop', '$LOG')]}"
rm -f "$LOG"
capture rt create --bundle "$B" h-fail
[ $rc != 0 ] && grep -q "createRuntime hook\[0\].*exit status 3" <<<"$out" && ok "failing hook fails create: $out" || fail "failing hook: rc=$rc $out"
[ ! -e "$ROOT/h-fail" ] && [ -z "$(cgroups_left '/h-fail$')" ] && ok "failing hook: nothing left" || fail "failing hook left state/cgroups"
grep -q "^poststop" "$LOG" && ok "failing hook: poststop ran after the destroy" || fail "poststop after failed create: $(cat "$LOG")"

# 3. A hook that does not exist.
hooks_config "{'prestart': [{'path': '/no/such/hook'}]}"
capture rt create --bundle "$B" h-missing
[ $rc != 0 ] && grep -q "prestart hook\[0\] /no/such/hook" <<<"$out" && ok "missing hook fails create: $out" || fail "missing hook: rc=$rc $out"
[ ! -e "$ROOT/h-missing" ] && [ -z "$(cgroups_left '/h-missing$')" ] && ok "missing hook: nothing left" || fail "missing hook left state"

# 4. A hook that hangs past its timeout is killed.
cat > "$B/rootfs/hang.sh" <<'SH'
#!/bin/sh
exec sleep 60
SH
chmod 755 "$B/rootfs/hang.sh"
hooks_config "{'createContainer': [{'path': '$B/rootfs/hang.sh', 'timeout': 1}]}"
capture rt create --bundle "$B" h-timeout
[ $rc != 0 ] && grep -q "createContainer hook\[0\].*timed out after 1 s" <<<"$out" && ok "hanging hook killed at its timeout: $out" || fail "timeout: rc=$rc $out"
[ ! -e "$ROOT/h-timeout" ] && [ -z "$(cgroups_left '/h-timeout$')" ] && ok "timed-out hook: nothing left" || fail "timeout left state"
pgrep -f "$B/rootfs/hang.sh" >/dev/null && fail "the timed-out hook still runs" || ok "the timed-out hook is gone"

# 5. A failing startContainer hook fails start and removes the container.
hooks_config "{'startContainer': [dict(h('startContainer', '/log', '4'), path='/hook.sh')]}"
rt create --bundle "$B" h-start-fail >/dev/null 2>&1 || fail "create h-start-fail"
capture rt start h-start-fail
[ $rc != 0 ] && grep -q "startContainer hook\[0\].*exit status 4" <<<"$out" && ok "failing startContainer fails start: $out" || fail "startContainer: rc=$rc $out"
[ ! -e "$ROOT/h-start-fail" ] && [ -z "$(cgroups_left '/h-start-fail$')" ] && ok "failed start: nothing left" || fail "failed start left state"

# 6. A failing poststart hook is a warning.
hooks_config "{'poststart': [h('poststart', '$LOG', '5')]}"
rt create --bundle "$B" h-poststart-fail >/dev/null 2>&1 || fail "create h-poststart-fail"
capture rt start h-poststart-fail
[ $rc = 0 ] && grep -q "warning: run poststart hook\[0\].*exit status 5" <<<"$out" && ok "failing poststart only warns: $out" || fail "poststart: rc=$rc $out"
rt delete --force h-poststart-fail || fail "delete h-poststart-fail"

# 7. run creates and starts at once (no exec.fifo, the init execs right after ready): every
# hook still runs, in order, and a failing startContainer hook still fails it and leaves nothing.
hooks_config "{'prestart': [h('prestart', '$LOG')], 'createRuntime': [h('createRuntime', '$LOG')],
  'createContainer': [h('createContainer', '$LOG')],
  'startContainer': [dict(h('startContainer', '/log'), path='/hook.sh')],
  'poststart': [h('poststart', '$LOG')], 'poststop': [h('poststop', '$LOG')]}"
rm -f "$LOG"
capture rt run --bundle "$B" h-run-all
order="$(cut -d' ' -f1 "$LOG" 2>/dev/null | tr '\n' ' ')"
[ $rc = 0 ] && [ "$order" = "prestart createRuntime createContainer startContainer poststart poststop " ] && ok "run: hooks in lifecycle order" || fail "run hooks: rc=$rc order=$order $out"
hooks_config "{'startContainer': [dict(h('startContainer', '/log', '4'), path='/hook.sh')]}"
capture rt run --bundle "$B" h-run-start-fail
[ $rc != 0 ] && grep -q "startContainer hook\[0\].*exit status 4" <<<"$out" && ok "run: failing startContainer fails it: $out" || fail "run startContainer: rc=$rc $out"
[ ! -e "$ROOT/h-run-start-fail" ] && [ -z "$(cgroups_left '/h-run-start-fail$')" ] && ok "run: failed start left nothing" || fail "run: failed start left state"
[ "$fails" = 0 ]
