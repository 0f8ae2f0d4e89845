# Shared by the OCI integration tests of ctbench-runtime (sourced, not run): a busybox bundle made
# from the host's static busybox, ok/fail bookkeeping, a private --root and cleanup of exactly
# what the test created. Tests that source it need root and exit 77 otherwise.
[ "$(id -u)" = 0 ] || { echo "skipping: needs root"; exit 77; }
RT="$(readlink -f "$CTBENCH_RUNTIME")"
ROOT="/run/ctbench/runtime-$(basename "$0" .sh)-$$"
WORK="$(mktemp -d /tmp/ctbench-oci.XXXXXX)"
IDS=()
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
rt() { "$RT" --root "$ROOT" "$@"; }
finish() {
  local id
  for id in "${IDS[@]}"; do rt delete --force "$id" >/dev/null 2>&1; done
  rmdir "$ROOT" 2>/dev/null
  rm -rf "$WORK"
}
trap finish EXIT
# Registers an id for cleanup at exit.
uses() { IDS+=("$@"); }

# make_bundle DIR: DIR/rootfs is a busybox root (applets as relative symlinks, so they resolve
# inside the container).
make_bundle() {
  local dir="$1" bb
  bb="$(command -v busybox)" || { echo "busybox is missing (scripts/setup.sh installs busybox-static)"; exit 1; }
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/sys" "$dir/rootfs/tmp"
  cp "$bb" "$dir/rootfs/bin/busybox"
  for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$a"; done
}

# spec_bundle DIR: a busybox bundle with `ctbench-runtime spec`'s config, also kept as
# $WORK/base.json for tests that reset it between steps.
spec_bundle() {
  make_bundle "$1"
  (cd "$1" && "$RT" spec) || fail "spec"
  cp "$1/config.json" "$WORK/base.json"
}

# edit_config FILE PYTHON: runs PYTHON with `c` bound to the parsed config and writes it back.
edit_config() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
path, code = sys.argv[1], sys.argv[2]
c = json.load(open(path))
exec(code)
json.dump(c, open(path, "w"), indent=1)
PY
}

status_of() { rt state "$1" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
json_field() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

# cgroup directories named for ids (below any ctbench directory) that are still there.
cgroups_left() {
  local pattern="$1"
  find /sys/fs/cgroup/*/ctbench /sys/fs/cgroup/ctbench -mindepth 1 -maxdepth 3 -type d 2>/dev/null | grep -E "$pattern"
}
