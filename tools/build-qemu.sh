#!/usr/bin/env bash
# Builds kvm-rr's QEMU: QEMU 7.2 from Debian's `qemu` source package, with qemu-patches/series
# applied, as a minimal x86_64-softmmu binary (bin/) with its plugin header (include/). Cached
# in $KVMRR_CACHE/qemu keyed by the source version, the patch contents, the kvm-rr ABI header
# and the configure flags. One git tree per source version is reused, so a changed patch
# recompiles only the files it touches.
#
#   tools/build-qemu.sh build OUT_LINK   build (or reuse) and point OUT_LINK at the result
#   tools/build-qemu.sh tree DIR         fresh source tree in DIR with the series as commits
#   tools/build-qemu.sh export DIR       DIR's commits since base -> qemu-patches/
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

# Pinned: the series is written against exactly this Debian revision.
QEMU_DEB_VERSION=1:7.2+dfsg-7+deb12u18
QEMU_ORIG_SHA256=91aca71520040edc40b8d437aa3004dae614f58e286cf653ee8996c07af2962f
CONFIGURE_FLAGS=(--target-list=x86_64-softmmu --without-default-features --enable-kvm
  --enable-tcg --enable-plugins --enable-slirp --enable-fdt=system --disable-docs
  --disable-werror --disable-debug-info)
PATCH_DIR=$REPO_ROOT/qemu-patches
# kvm-rr's headers QEMU compiles against: the core's C table and the guest ring layout.
ABI_HEADERS=("$REPO_ROOT/kvm-rr/abi/qemu/kvmrr/qemu-abi.h" "$REPO_ROOT/kvm-rr/abi/guest/kvmrr/guest-abi.h")
# Firmware QEMU loads for our machines; Debian's seabios and qemu-system-data ship them.
FIRMWARE=(/usr/share/seabios/bios-256k.bin /usr/share/seabios/vgabios-stdvga.bin
  /usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/linuxboot.bin /usr/share/qemu/kvmvapic.bin
  /usr/share/qemu/multiboot_dma.bin /usr/share/qemu/pvh.bin)

ver_dir=${QEMU_DEB_VERSION#*:}
DL=$KVMRR_CACHE/dl/qemu
TREE=$KVMRR_CACHE/qemu/tree-$ver_dir

fetch_source() {
  local dsc=$DL/qemu_${ver_dir}.dsc
  [ -f "$dsc" ] && return 0
  mkdir -p "$DL"
  local offered
  offered=$(apt-cache showsrc qemu 2>/dev/null | awk '/^Version:/{print $2}' | sort -u | tr '\n' ' ')
  if ! grep -qw -- "$QEMU_DEB_VERSION" <<<"$offered"; then
    die "Debian's archive no longer serves qemu $QEMU_DEB_VERSION (it offers: ${offered:-nothing; is the deb-src entry there? run make deps}).
  qemu-patches/ is written against $QEMU_DEB_VERSION: rebase the series onto a served version and
  update QEMU_DEB_VERSION and QEMU_ORIG_SHA256 in tools/build-qemu.sh."
  fi
  say "fetching qemu $QEMU_DEB_VERSION source"
  (cd "$DL" && apt-get source -qq --download-only "qemu=$QEMU_DEB_VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  [ -f "$dsc" ] || die "apt-get source did not produce $dsc"
  echo "$QEMU_ORIG_SHA256  $DL/qemu_7.2+dfsg.orig.tar.xz" | sha256sum -c --quiet ||
    die "qemu_7.2+dfsg.orig.tar.xz does not match the pinned checksum"
}

# A pristine tree (Debian's patches applied by dpkg-source) committed as base.
make_tree() {
  local dir=$1
  fetch_source
  local tmp=$dir.tmp
  rm -rf "$tmp" && mkdir -p "$(dirname "$dir")"
  say "unpacking qemu $QEMU_DEB_VERSION into $dir"
  dpkg-source -q -x "$DL/qemu_${ver_dir}.dsc" "$tmp" >/dev/null 2>&1 || die "dpkg-source -x failed"
  rm -rf "$tmp/.pc"
  git_tree_init "$tmp" "qemu $QEMU_DEB_VERSION as shipped by Debian"
  mv "$tmp" "$dir"
}

# The ABI headers are ours; QEMU sees them as include/kvmrr/*.h. Copied only when changed so
# an unchanged header keeps its mtime and triggers no rebuild.
install_headers() {
  local tree=$1 h
  mkdir -p "$tree/include/kvmrr"
  for h in "${ABI_HEADERS[@]}"; do
    cmp -s "$h" "$tree/include/kvmrr/${h##*/}" || cp "$h" "$tree/include/kvmrr/"
  done
}

# compile_tree: builds what TREE holds now (incrementally), failing on a warning in a file
# the series touches. Leaves the build directory in $bdir.
compile_tree() {
  local flagkey; flagkey=$(echo "${CONFIGURE_FLAGS[*]}" | sha256sum | cut -c1-8)
  bdir=$TREE/build-$flagkey
  if [ ! -f "$bdir/build.ninja" ]; then
    mkdir -p "$bdir"
    with_progress "$bdir.configure.log" "qemu configure" \
      bash -c "cd '$bdir' && ../configure ${CONFIGURE_FLAGS[*]}"
  fi
  with_progress "$bdir.build.log" "qemu build ($JOBS jobs)" \
    ninja -C "$bdir" -j "$JOBS" qemu-system-x86_64
  # QEMU builds without -Werror (Debian's tree has warnings of its own), but a warning in
  # a file our series touches is a bug: an implicit declaration there truncated a pointer.
  fail_on_warnings_in_series "$TREE" "$bdir.build.log" qemu-patches/ '*.c' '*.h'
}

build() {
  local out_link=$1
  local h
  for h in "${ABI_HEADERS[@]}"; do [ -f "$h" ] || die "missing $h"; done
  local patches; patches=$(series_files "$PATCH_DIR")
  local key; key=$(
    { echo "$QEMU_DEB_VERSION"; echo "${CONFIGURE_FLAGS[*]}"; printf '%s\n' "${FIRMWARE[@]}"
      hash_of "${ABI_HEADERS[@]}" $patches "$PATCH_DIR/series"; cat "$0"; } | sha256sum | cut -c1-16)
  local out=$KVMRR_CACHE/qemu/out-$key
  if [ -x "$out/bin/qemu-system-x86_64" ]; then
    say "qemu up to date ($out)"
  else
    [ -d "$TREE/.git" ] || make_tree "$TREE"
    apply_series "$TREE" "$PATCH_DIR"
    install_headers "$TREE"
    local bdir
    compile_tree
    rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin" "$out.tmp/share" "$out.tmp/include"
    cp "$bdir/qemu-system-x86_64" "$out.tmp/bin/"
    # The plugin API as this QEMU exports it (the series adds to it): kvm-rr's TCG plugins
    # compile against $out/include/qemu-plugin.h.
    cp "$TREE/include/qemu/qemu-plugin.h" "$out.tmp/include/"
    local f
    for f in "${FIRMWARE[@]}"; do
      [ -f "$f" ] || die "firmware $f missing (run make deps)"
      ln -s "$f" "$out.tmp/share/"
    done
    publish_build "$out" "$TREE" "$QEMU_DEB_VERSION" qemu
  fi
  link_output "$out" "$out_link"
}

series_cli qemu "$QEMU_DEB_VERSION" "$PATCH_DIR" "$@"
