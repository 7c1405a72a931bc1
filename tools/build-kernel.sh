#!/usr/bin/env bash
# Builds kvm-rr's guest kernel: Linux 6.1 from Debian's linux-source-6.1 package, with
# guest-kernel-patches/series applied and guest-kernel-patches/kvm-rr.config merged over
# tinyconfig. Cached in $KVMRR_CACHE/kernel keyed by the source version, patches and config;
# one git tree per source version is reused so a changed patch rebuilds incrementally.
#
#   tools/build-kernel.sh build OUT_LINK   build (or reuse); OUT_LINK/{bzImage,vmlinux,config}
#   tools/build-kernel.sh tree DIR         fresh source tree in DIR with the series as commits
#   tools/build-kernel.sh export DIR       DIR's commits since base -> guest-kernel-patches/
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

PATCH_DIR=$REPO_ROOT/guest-kernel-patches
FRAGMENT=$PATCH_DIR/kvm-rr.config
TARBALL=/usr/src/linux-source-6.1.tar.xz
# The ring layout shared with QEMU is kvm-rr's; the kernel sees it as <uapi/linux/kvmrr.h>.
GUEST_ABI=$REPO_ROOT/kvm-rr/abi/guest/kvmrr/guest-abi.h
# The checkpoint system call's number, which the kernel marks with a sync point.
CHECKPOINT_ABI=$REPO_ROOT/kvm-rr/abi/guest/kvmrr/checkpoint.h

install_headers() {
  local tree=$1
  cmp -s "$GUEST_ABI" "$tree/include/uapi/linux/kvmrr.h" || cp "$GUEST_ABI" "$tree/include/uapi/linux/kvmrr.h"
  cmp -s "$CHECKPOINT_ABI" "$tree/include/uapi/linux/kvmrr-checkpoint.h" ||
    cp "$CHECKPOINT_ABI" "$tree/include/uapi/linux/kvmrr-checkpoint.h"
}

src_version() {
  dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
    die "linux-source-6.1 is not installed (run make deps)"
}

make_tree() {
  local dir=$1 ver; ver=$(src_version)
  [ -f "$TARBALL" ] || die "$TARBALL missing (run make deps)"
  local tmp=$dir.tmp
  rm -rf "$tmp" && mkdir -p "$tmp"
  with_progress "$tmp.unpack.log" "unpacking linux-source-6.1 $ver" \
    tar -C "$tmp" --strip-components=1 -xf "$TARBALL"
  # Debian's .gitignore ignores every top-level entry (for its packaging repository), which
  # would hide new files of our patches from git; drop that rule in the base commit.
  sed -i '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' "$tmp/.gitignore"
  git_tree_init "$tmp" "linux $ver as shipped by Debian's linux-source-6.1"
  mv "$tmp" "$dir"
}

# Options the guest cannot work without; a fragment entry Kconfig silently dropped fails here.
check_config() {
  local cfg=$1 line
  while IFS= read -r line; do
    case "$line" in CONFIG_*=y|CONFIG_*=n) ;; *) continue ;; esac
    local opt=${line%%=*} want=${line#*=}
    if [ "$want" = y ]; then
      grep -qx "$opt=y" "$cfg" || die "config: $opt=y requested by ${FRAGMENT#"$REPO_ROOT"/} is not in the final .config (a dependency is missing)"
    else
      ! grep -qx "$opt=y" "$cfg" || die "config: $opt should be off but is on"
    fi
  done <"$FRAGMENT"
}

TREE=$KVMRR_CACHE/kernel/tree-$(src_version)

# compile_tree: configures and builds what $TREE holds now (incrementally), failing on a
# warning in a file the series touches. Leaves the build directory in $bdir.
compile_tree() {
  bdir=$TREE/build
  mkdir -p "$bdir"
  # tinyconfig is allnoconfig over tiny-base.config, then tiny.config merged; doing it in
  # one allnoconfig with our fragment last gives exactly tinyconfig + fragment. Regenerated
  # each time (cheap); unchanged content keeps the old .config and its mtime.
  cat "$TREE/kernel/configs/tiny-base.config" "$TREE/kernel/configs/tiny.config" \
    "$TREE/arch/x86/configs/tiny.config" "$FRAGMENT" >"$bdir/kvm-rr.allconfig"
  KCONFIG_ALLCONFIG="$bdir/kvm-rr.allconfig" KCONFIG_CONFIG=.config.new \
    make -s -C "$TREE" O="$bdir" ARCH=x86_64 allnoconfig >"$bdir/config.log" 2>&1 ||
    { cat "$bdir/config.log" >&2; die "kernel configuration failed"; }
  check_config "$bdir/.config.new"
  if cmp -s "$bdir/.config.new" "$bdir/.config"; then rm "$bdir/.config.new"; else mv "$bdir/.config.new" "$bdir/.config"; fi
  with_progress "$bdir.build.log" "kernel build ($JOBS jobs)" \
    make -C "$TREE" O="$bdir" ARCH=x86_64 -j "$JOBS" bzImage vmlinux
  # A warning in a file our series touches is a bug until shown otherwise.
  fail_on_warnings_in_series "$TREE" "$bdir.build.log" guest-kernel-patches/ '*.c' '*.h' '*.S'
}

build() {
  local out_link=$1 ver; ver=$(src_version)
  local patches; patches=$(series_files "$PATCH_DIR")
  local key; key=$({ echo "$ver"; hash_of "$FRAGMENT" "$GUEST_ABI" "$CHECKPOINT_ABI" $patches "$PATCH_DIR/series"; cat "$0"; } | sha256sum | cut -c1-16)
  local out=$KVMRR_CACHE/kernel/out-$key
  local tree=$TREE
  if [ -f "$out/bzImage" ] && [ -f "$out/vmlinux" ]; then
    say "kernel up to date ($out)"
  else
    [ -d "$tree/.git" ] || make_tree "$tree"
    apply_series "$tree" "$PATCH_DIR"
    install_headers "$tree"
    local bdir
    compile_tree
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    cp "$bdir/arch/x86/boot/bzImage" "$bdir/vmlinux" "$out.tmp/"
    cp "$bdir/.config" "$out.tmp/config"
    cp "$bdir/System.map" "$out.tmp/"
    publish_build "$out" "$tree" "$ver" kernel
  fi
  link_output "$out" "$out_link"
}

series_cli linux "$(src_version)" "$PATCH_DIR" "$@"
