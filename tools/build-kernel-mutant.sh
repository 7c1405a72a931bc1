#!/usr/bin/env bash
# Builds a test-only mutant of kvm-rr's guest kernel: the normal kernel (tools/build-kernel.sh:
# Linux 6.1 with guest-kernel-patches/) plus ONE extra patch, such as a deliberate bug that a
# checker's mutation test must catch (tests/pmem/mutations/). Never a kernel for real use.
#
# Built incrementally: the normal kernel's cached tree ($KVMRR_CACHE/kernel/tree-VERSION, its
# source and its build/ directory) is copied with mtimes kept, the series is re-applied in the
# copy (a no-op when the tree already holds the normal build), the extra patch is committed on
# top, and make runs again: only what the patch touches recompiles, then vmlinux relinks. The
# shared tree itself is never modified. Cached in $KVMRR_CACHE/kernel/mutant-KEY, keyed by the
# normal kernel's key, the patch and this script; the copy is deleted when the script ends.
#
#   tools/build-kernel-mutant.sh PATCH OUT_LINK [NORMAL_LINK]
#       builds (or reuses) the normal kernel at NORMAL_LINK (default build/kernel), then the
#       mutant: OUT_LINK/{bzImage,vmlinux,config,System.map} like build/kernel, plus
#       build.log, mutation.patch, patches.txt (the series and the mutation) and normal (the
#       normal kernel's cache directory)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

PATCH_DIR=$REPO_ROOT/guest-kernel-patches
GUEST_ABI=$REPO_ROOT/kvm-rr/abi/guest/kvmrr/guest-abi.h
CHECKPOINT_ABI=$REPO_ROOT/kvm-rr/abi/guest/kvmrr/checkpoint.h

patch=${1:?usage: $0 PATCH OUT_LINK [NORMAL_LINK]}
out_link=${2:?usage: $0 PATCH OUT_LINK [NORMAL_LINK]}
normal_link=${3:-$REPO_ROOT/build/kernel}
[ -f "$patch" ] || die "$patch: no such patch"
patch=$(cd "$(dirname "$patch")" && pwd)/$(basename "$patch")

"$REPO_ROOT/tools/build-kernel.sh" build "$normal_link"
normal_out=$(readlink -f "$normal_link")
case "${normal_out##*/}" in out-*) ;; *) die "$normal_link does not point at a cached kernel build ($normal_out)" ;; esac
normal_key=${normal_out##*/out-}
ver=$(cat "$normal_out/version")

key=$({ echo "$normal_key"; hash_of "$patch"; cat "$0"; } | sha256sum | cut -c1-16)
out=$KVMRR_CACHE/kernel/mutant-$key

if [ -f "$out/bzImage" ] && [ -f "$out/vmlinux" ]; then
  say "mutant kernel up to date ($out)"
  link_output "$out" "$out_link"
  exit 0
fi

start=$SECONDS
tree=$KVMRR_CACHE/kernel/tree-$ver
mtree=$out.tree
[ -d "$tree/.git" ] && [ -f "$tree/build/vmlinux" ] || die "$tree holds no kernel build (run make kernel)"
if cmp -s "$tree/build/vmlinux" "$normal_out/vmlinux"; then
  say "copying the normal kernel's build tree (it holds $normal_out)"
else
  say "copying the normal kernel's build tree; it holds another build than $normal_out, so the copy is brought back to guest-kernel-patches/ first (more recompiles)"
fi
rm -rf "$mtree" "$out.tmp" && mkdir -p "$mtree" "$out.tmp"
# The copy (1.7 GB) goes when the script ends, built or not; a failed build's log stays in
# $out.tmp/build.log.
trap 'rm -rf "$mtree"' EXIT

# The source, real copies with mtimes. No hard links: build-kernel.sh writes some files of the
# shared tree in place (the ABI header), and a link changes the ctime that git checks there,
# so its next build would hash every file again. Logs at the top are not part of it.
shopt -s dotglob
for e in "$tree"/*; do
  case ${e##*/} in .git|build|*.log) continue ;; esac
  cp -a "$e" "$mtree/"
done
shopt -u dotglob
cp -a "$tree/build" "$mtree/build"
# git: the shared tree's objects through alternates (read-only), its refs and index copied.
# setlocalversion needs the repository for the same kernel release ("+": not at a tag), and the
# series is applied as commits. The index keeps the shared tree's inode numbers: compare only
# size and mtime, or git would hash every file again.
mkdir -p "$mtree/.git/objects/info"
for f in HEAD config index packed-refs refs info description; do
  [ -e "$tree/.git/$f" ] && cp -a "$tree/.git/$f" "$mtree/.git/"
done
echo "$tree/.git/objects" >"$mtree/.git/objects/info/alternates"
git -C "$mtree" config core.checkStat minimal
git -C "$mtree" config core.trustCtime false
# objtool is built by tools/build, whose commands name absolute paths: point them at the copy
# (mtimes kept), or objtool relinks and every object that objtool checks recompiles.
find "$mtree/build/tools" -type f \( -name '*.cmd' -o -name '*.d' \) -exec grep -lF "$tree/" {} + 2>/dev/null |
  while IFS= read -r f; do
    t=$(stat -c %y "$f")
    sed -i "s|$tree/|$mtree/|g" "$f"
    touch -d "$t" "$f"
  done
say "copy made in $((SECONDS - start))s"

# The normal series (keeps mtimes of files whose content it leaves alone), then the mutation.
t=$SECONDS
apply_series "$mtree" "$PATCH_DIR"
git -C "$mtree" am -q --keep-cr --committer-date-is-author-date "$patch" ||
  { git -C "$mtree" am --abort >/dev/null 2>&1; die "${patch#"$REPO_ROOT"/} does not apply on top of guest-kernel-patches/ (try: make kernel-tree, then git apply --check in that tree)"; }
cmp -s "$GUEST_ABI" "$mtree/include/uapi/linux/kvmrr.h" || cp "$GUEST_ABI" "$mtree/include/uapi/linux/kvmrr.h"
cmp -s "$CHECKPOINT_ABI" "$mtree/include/uapi/linux/kvmrr-checkpoint.h" ||
  cp "$CHECKPOINT_ABI" "$mtree/include/uapi/linux/kvmrr-checkpoint.h"
cmp -s "$normal_out/config" "$mtree/build/.config" || cp "$normal_out/config" "$mtree/build/.config"
say "guest-kernel-patches/ and ${patch##*/} applied in $((SECONDS - t))s"

log=$out.tmp/build.log
with_progress "$log" "mutant kernel build ($JOBS jobs)" \
  make -C "$mtree" O="$mtree/build" ARCH=x86_64 -j "$JOBS" bzImage vmlinux
cmp -s "$normal_out/config" "$mtree/build/.config" || die "the mutant's .config differs from the normal kernel's: a mutation must not change the configuration"
mutated=$(git -C "$mtree" diff --name-only HEAD~1 HEAD -- '*.c' '*.h' '*.S' | tr '\n' '|')
mutated=${mutated%|}
if [ -n "$mutated" ] && grep -E "^\.\./($mutated):[0-9]+:[0-9]+: warning:" "$log"; then
  die "warnings in files ${patch#"$REPO_ROOT"/} touches (above); fix the patch"
fi
compiled=$(grep -E '^  (CC|AS) ' "$log" | awk '{print $2}' |
  grep -v -e '^init/version' -e '^arch/x86/boot/' -e '^\.tmp_vmlinux' | tr '\n' ' ' || true)
say "compiled: ${compiled:-nothing}(then vmlinux and bzImage relinked)"
cp "$mtree/build/arch/x86/boot/bzImage" "$mtree/build/vmlinux" "$mtree/build/System.map" "$out.tmp/"
cp "$mtree/build/.config" "$out.tmp/config"
cp "$patch" "$out.tmp/mutation.patch"
echo "$normal_out" >"$out.tmp/normal"
publish_build "$out" "$mtree" "$ver" "mutant kernel"
rm -rf "$mtree"
trap - EXIT
say "mutant kernel: $((SECONDS - start))s in all"
link_output "$out" "$out_link"
