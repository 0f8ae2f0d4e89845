#!/usr/bin/env bash
# `ctbench doctor --cleanup` removes the user an interrupted `ctbench run --rootless` left
# (ctbrootless<pid> whose run is gone) with its /etc/subuid and /etc/subgid ranges, and keeps one
# whose run is alive; nothing else of the host's users is touched.
set -u
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
command -v useradd >/dev/null && command -v userdel >/dev/null || { echo "skipping: useradd/userdel missing"; exit 77; }
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
tmp="$(mktemp -d /tmp/ctbench-rlclean.XXXXXX)"
# A pid that is gone: a child that has exited and been reaped.
sleep 0 & wait $!; dead=$!
while [ -e "/proc/$dead" ]; do sleep 0 & wait $!; dead=$!; done
live=$$  # this test: alive throughout
STALE="ctbrootless$dead"; LIVE="ctbrootless$live"
finish() {
  for u in "$STALE" "$LIVE"; do
    id "$u" >/dev/null 2>&1 && userdel "$u" >/dev/null 2>&1
    for f in /etc/subuid /etc/subgid; do sed -i "/^$u:/d" "$f"; done
  done
  rm -rf "$tmp"
}
trap finish EXIT
for u in "$STALE" "$LIVE"; do
  useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" || { fail "useradd $u"; exit 1; }
  for f in /etc/subuid /etc/subgid; do echo "$u:1610612736:65536" >> "$f"; done
done
users_before="$(cut -d: -f1 /etc/passwd | grep -v '^ctbrootless' | sort)"
ctb() {  # tried again (bounded) while another run or cleanup holds the lock
  for _ in $(seq 20); do
    "$CTBENCH" "$@" >"$tmp/out" 2>&1; rc=$?
    grep -q "another ctbench run or cleanup is in progress" "$tmp/out" || return $rc
    flock -w 300 /run/ctbench.lock true
  done
  return $rc
}
ctb doctor --cleanup
grep -q "removed user *$STALE" "$tmp/out" && ok "doctor --cleanup says it removed $STALE" || fail "output: $(cat "$tmp/out")"
id "$STALE" >/dev/null 2>&1 && fail "$STALE still exists" || ok "the stale user is gone"
grep -q "^$STALE:" /etc/subuid /etc/subgid && fail "its id ranges stay" || ok "its subuid/subgid ranges are gone"
id "$LIVE" >/dev/null 2>&1 && ok "$LIVE (its pid alive) is kept" || fail "$LIVE was removed"
grep -q "^$LIVE:" /etc/subuid && ok "its range is kept" || fail "$LIVE's range was removed"
[ "$(cut -d: -f1 /etc/passwd | grep -v '^ctbrootless' | sort)" = "$users_before" ] && ok "no other user touched" || fail "users changed"
[ "$fails" = 0 ]
