#!/usr/bin/env bash
# Installs every Debian package that building kvm-rr, its QEMU and guest kernel, the guest
# image and the tests need. Idempotent: prints nothing and touches nothing when all is there.
set -euo pipefail

PACKAGES=(
  # C++ core and front end
  build-essential cmake ninja-build pkg-config
  libfmt-dev libzstd-dev libelf-dev zlib1g-dev nlohmann-json3-dev libgtest-dev
  # QEMU 7.2 from Debian's source package (minimal x86_64-softmmu build)
  dpkg-dev meson python3 libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev
  # firmware: Debian strips prebuilt ROMs from its QEMU source; these ship them built
  seabios qemu-system-data
  # Linux 6.1 guest kernel
  linux-source-6.1 bc bison flex libssl-dev cpio xz-utils
  # guest root file system and workloads
  e2fsprogs busybox-static stress-ng fio rocksdb-tools
  # tools/kvm-lab: the L1 VM's module dependencies (depmod)
  kmod
  # bench/: compressed size of QEMU's whole-VM replay log
  zstd
  # tests: kvm-rr replay --gdb driven by a real debugger
  gdb
  # tests: the C++ style check (style.clang_format) and make format
  clang-format
  # tests: libFuzzer harnesses of the parsers (tools/fuzz.sh: clang, its fuzzer runtime)
  clang libclang-rt-14-dev
)

SRC_LIST=/etc/apt/sources.list.d/kvm-rr-deb-src.sources

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "deps: must run as root to install: $*" >&2
    exit 1
  fi
}

# `apt-get source qemu` needs deb-src entries for the suites this machine already uses.
add_deb_src() {
  [ -f "$SRC_LIST" ] && return 1
  local uris suites
  uris=$(grep -hE '^URIs:.*debian(-security)?/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}')
  if [ -z "$uris" ]; then
    uris=$(grep -hE '^deb +[^ ]*debian/? ' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}')
  fi
  [ -n "$uris" ] || uris=http://deb.debian.org/debian
  . /etc/os-release
  local codename=${VERSION_CODENAME:-bookworm}
  need_root "deb-src entry"
  echo "deps: adding deb-src entries for $codename ($SRC_LIST)"
  cat >"$SRC_LIST" <<SRC
# Added by kvm-rr (tools/deps.sh): apt-get source qemu needs the source index.
Types: deb-src
URIs: $uris
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: ${uris%/debian}/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  return 0
}

updated=0
if add_deb_src; then
  apt-get update -qq
  updated=1
fi
# The deb-src index must actually be present (a machine handed over may have lost lists).
if ! apt-cache showsrc qemu >/dev/null 2>&1 || [ -z "$(apt-cache showsrc qemu 2>/dev/null)" ]; then
  need_root "apt-get update"
  [ $updated = 1 ] || { echo "deps: refreshing package lists"; apt-get update -qq; updated=1; }
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  need_root "${missing[*]}"
  echo "deps: installing ${missing[*]}"
  [ $updated = 1 ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/kvm-rr-apt.log 2>&1 || {
    tail -n 30 /tmp/kvm-rr-apt.log >&2; echo "deps: apt-get install failed (log: /tmp/kvm-rr-apt.log)" >&2; exit 1; }
fi
