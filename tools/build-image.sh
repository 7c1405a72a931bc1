#!/usr/bin/env bash
# Builds the default guest's root file system: an ext4 image with busybox, stress-ng, fio,
# db_bench (rocksdb-tools) and the shared libraries they load, plus guest/kvm-rr-init as
# init, guest/kvm-rr-ctl, and guest/kvm-rr-microbench, kvm-rr-pingpong, kvm-rr-checkpoint and
# kvm-rr-pmem-ace (built static here). Made with `mke2fs -d` from a staging directory: no loop mount, no root
# file system of the host touched. Cached in $KVMRR_CACHE/guest keyed by this script, the
# guest files, the headers they include and the versions of the Debian packages copied in.
#
#   tools/build-image.sh OUT_LINK     OUT_LINK/rootfs.ext4
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

IMAGE_MB=1024
PACKAGES=(busybox-static stress-ng fio rocksdb-tools e2fsprogs libc6)
PROGRAMS=(/usr/bin/stress-ng /usr/bin/fio /usr/bin/db_bench /sbin/mke2fs /sbin/e2fsck)
INIT=$REPO_ROOT/guest/kvm-rr-init
CTL=$REPO_ROOT/guest/kvm-rr-ctl
MICROBENCH=$REPO_ROOT/guest/kvm-rr-microbench.c
# Threads handing a token over by futex and pipe: the multi-core recording workload.
PINGPONG=$REPO_ROOT/guest/kvm-rr-pingpong.c
# Checkpoint marks for replay passes, and the pmem checker's ACE workload; they include
# <kvmrr/checkpoint.h> (the checkpoint system call's number).
CHECKPOINT=$REPO_ROOT/guest/kvm-rr-checkpoint.c
PMEM_ACE=$REPO_ROOT/guest/kvm-rr-pmem-ace.c
# The pmem checker's guest half (kvm-rr pmem-check): mount, dump and fsck each image.
PMEM_PROBE=$REPO_ROOT/guest/kvm-rr-pmem-probe
FSDUMP=$REPO_ROOT/guest/kvm-rr-fsdump.c
KVMRR_INCLUDE=$REPO_ROOT/kvm-rr/abi/guest
CHECKPOINT_H=$KVMRR_INCLUDE/kvmrr/checkpoint.h

out_link=${1:?usage: $0 OUT_LINK}
versions=$(for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || die "$p is not installed (run make deps)"; done)
key=$({ echo "$versions"; echo "$IMAGE_MB"; cat "$0" "$INIT" "$CTL" "$MICROBENCH" "$PINGPONG" "$CHECKPOINT" "$PMEM_ACE" "$CHECKPOINT_H" "$PMEM_PROBE" "$FSDUMP"; gcc --version | head -n1; } | sha256sum | cut -c1-16)
out=$KVMRR_CACHE/guest/out-$key

if [ -f "$out/rootfs.ext4" ]; then
  say "guest image up to date ($out)"
else
  stage=$out.stage
  rm -rf "$stage" "$out.tmp" && mkdir -p "$stage" "$out.tmp"
  say "staging guest root file system"
  (cd "$stage" && mkdir -p bin sbin usr/bin usr/sbin lib lib64 etc proc sys dev tmp root mnt/pmem var/tmp run)
  install -m 0755 /bin/busybox "$stage/bin/busybox"
  # Every applet as a symlink, at the path busybox itself gives for it.
  for applet in $(/bin/busybox --list-full); do
    [ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
  done
  install -m 0755 "$INIT" "$stage/sbin/kvm-rr-init"
  install -m 0755 "$CTL" "$stage/sbin/kvm-rr-ctl"
  # System-call microbenchmarks (bench/), static: no libraries to carry.
  gcc -O2 -static -Wall -Werror -o "$stage/usr/bin/kvm-rr-microbench" "$MICROBENCH"
  gcc -O2 -static -pthread -Wall -Werror -o "$stage/usr/bin/kvm-rr-pingpong" "$PINGPONG"
  gcc -O2 -static -Wall -Werror -I "$KVMRR_INCLUDE" -o "$stage/usr/bin/kvm-rr-checkpoint" "$CHECKPOINT"
  gcc -O2 -static -Wall -Werror -I "$KVMRR_INCLUDE" -o "$stage/usr/bin/kvm-rr-pmem-ace" "$PMEM_ACE"
  gcc -O2 -static -Wall -Werror -o "$stage/usr/bin/kvm-rr-fsdump" "$FSDUMP"
  install -m 0755 "$PMEM_PROBE" "$stage/usr/bin/kvm-rr-pmem-probe"
  for prog in "${PROGRAMS[@]}"; do
    [ -x "$prog" ] || die "$prog missing (run make deps)"
    install -D -m 0755 "$prog" "$stage$prog"
    # The dynamic loader and every library, at the same paths as on the host.
    for lib in $(ldd "$prog" | awk '/=>/ {print $3} /^\t\// {print $1}'); do
      [ -e "$stage$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$stage$lib"
    done
  done
  # e2fsprogs under the names scripts use (busybox's mkfs.ext2 cannot make ext4).
  for name in mkfs.ext4 mkfs.ext2; do ln -sfn mke2fs "$stage/sbin/$name"; done
  ln -sfn e2fsck "$stage/sbin/fsck.ext4"
  cat >"$stage/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
  printf '127.0.0.1 localhost kvm-rr\n' >"$stage/etc/hosts"
  echo kvm-rr >"$stage/etc/hostname"
  : >"$stage/etc/fstab"
  printf '%s\n' "$versions" >"$stage/etc/kvm-rr-image"
  with_progress "$out.tmp/mke2fs.log" "mke2fs ($IMAGE_MB MiB ext4)" \
    mke2fs -q -F -t ext4 -L kvmrr-root -d "$stage" -E root_owner=0:0 "$out.tmp/rootfs.ext4" "${IMAGE_MB}M"
  echo "$versions" >"$out.tmp/packages"
  rm -rf "$stage" "$out" && mv "$out.tmp" "$out"
  say "guest image built: $out ($(du -sh "$out/rootfs.ext4" | cut -f1) used)"
fi
link_output "$out" "$out_link"
