#!/bin/bash
# Build the default container image (busybox + ctbench-agent) as a deterministic tar.
#   usage: build-image.sh OUT.tar BUSYBOX AGENT
# Runs at build time from Debian's busybox-static: no downloads. The same inputs always give
# the same bytes (sorted entries, mtime 0, owner 0:0, fixed modes), so the image digest that
# names the runtime's image cache only changes when busybox or the agent change.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 OUT.tar BUSYBOX AGENT" >&2
    exit 2
fi
out=$(realpath -m -- "$1")
busybox=$2
agent=$3
for f in "$busybox" "$agent"; do
    [ -x "$f" ] || { echo "build-image.sh: $f is not an executable file" >&2; exit 1; }
done

umask 022
export LC_ALL=C
stage=$(mktemp -d "${TMPDIR:-/tmp}/ctbench-image.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT

mkdir -p "$stage"/{bin,etc,usr/bin,proc,sys,dev,tmp,root,run,var,home,mnt}
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"

install -m 0755 "$busybox" "$stage/bin/busybox"
install -m 0755 "$agent" "$stage/usr/bin/ctbench-agent"
# Debug info would make the agent (and every binary embedding the image) ~4x larger; the symbol
# table stays, so perf and eBPF stacks still name the agent's functions.
"${STRIP:-strip}" --strip-debug "$stage/usr/bin/ctbench-agent"

# Every applet (sh included) is a relative symlink, so it resolves inside any root.
applets=$("$busybox" --list)
[ -n "$applets" ] || { echo "build-image.sh: $busybox --list printed nothing" >&2; exit 1; }
for applet in $applets; do
    case "$applet" in
        busybox) continue ;;
        */* | . | ..) echo "build-image.sh: odd applet name '$applet'" >&2; exit 1 ;;
    esac
    ln -s busybox "$stage/bin/$applet"
done
[ -L "$stage/bin/sh" ] || ln -s busybox "$stage/bin/sh"

cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$stage/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost
EOF
echo ctbench >"$stage/etc/hostname"
chmod 0644 "$stage"/etc/*

# Top-level names without a leading "./": entries read "bin/busybox", as OCI layers do.
mkdir -p "$(dirname -- "$out")"
(cd "$stage" && ls -A) | tar -C "$stage" --create --file="$out.tmp" --format=gnu \
    --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --files-from=-
mv -f -- "$out.tmp" "$out"
