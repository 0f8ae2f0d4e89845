#!/usr/bin/env bash
# setup.sh: install every Debian package ctbench needs, build into build/, install ctbench on PATH.
# Idempotent and quiet: re-running it only rebuilds what changed. Nothing but Debian packages is
# downloaded. Usage (as root): scripts/setup.sh [--no-install] [--no-werror]
# Warnings are errors by default: the project targets Debian 12's g++ 12 exactly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
do_install=1
werror=true
for arg in "$@"; do
  case "$arg" in
    --no-install) do_install=0 ;;
    --no-werror) werror=false ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (valid: --no-install, --no-werror)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: must run as root (it installs Debian packages)" >&2
  exit 2
fi

packages=(
  # build
  meson ninja-build pkg-config g++ clang llvm bpftool git binutils
  # libraries
  libbpf-dev libelf-dev zlib1g-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libmnl-dev libnftables-dev libseccomp-dev libcap-dev libarchive-dev
  # what the suites drive and compare with
  busybox-static qemu-system-x86 linux-image-cloud-amd64 nftables iproute2
  runc crun iperf3 fio sockperf util-linux kmod
  # fault injection for the runtime kill-anywhere test (strace -e inject)
  strace
  # rootless mode: newuidmap/newgidmap for subordinate ids (/etc/subuid, /etc/subgid)
  uidmap
  # report validation in the tests, and the real consumers of the report formats: Google
  # Benchmark's compare.py (needs scipy) for gbench, Chromium for the HTML report
  python3 python3-jsonschema libbenchmark-tools python3-scipy chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup.sh: apt-get failed installing: ${missing[*]}" >&2
    exit 1
  fi
fi

cd "$here"
if [ ! -f build/build.ninja ]; then
  # -O2 without debug info, as a unity build: on 2 cores a fresh build takes about half the
  # time (debug info and each file's own copy of the JSON and fmt templates were most of it). The
  # libraries the static runtime is made of are never unity-built (extracted_lib_options in
  # meson.build). For development: meson configure build -Dunity=off -Ddebug=true
  meson setup build --buildtype=debugoptimized -Ddebug=false --unity on --prefix=/usr/local -Dwerror="$werror" >/dev/null
else
  meson configure build -Dwerror="$werror" >/dev/null
fi
ninja -C build >/dev/null || { ninja -C build; exit 1; }
if [ "$do_install" = 1 ]; then
  meson install -C build --quiet >/dev/null
fi
