#!/usr/bin/env bash
# `make demo`: boots the default guest under TCG with the patched QEMU and runs a small
# workload in it, printing its output; then records the same workload, shows what the
# recording holds, and replays its kernel deterministically (kvm-rr replay).
set -euo pipefail
KVMRR=$(dirname "$0")/../build/bin/kvm-rr

workload=$(cat <<'SH'
echo "guest: $(uname -sr), $(nproc) vCPU, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
cd /tmp
seq 1 20000 > numbers
echo "largest: $(sort -rn numbers | head -n 3 | tr '\n' ' ')"
echo "lines: $(wc -l < numbers), md5: $(md5sum numbers | cut -d' ' -f1)"
mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mount -o dax /dev/pmem0 /mnt/pmem
echo persistent > /mnt/pmem/hello && sync
echo "pmem: $(grep /mnt/pmem /proc/mounts | cut -d' ' -f1-4)"
stress-ng --fork 1 --fork-ops 200 --metrics-brief 2>&1 | grep -E 'fork|successful' | tail -n 2
SH
)
echo "demo: booting the default guest under TCG and running:"
sed 's/^/  | /' <<<"$workload"
start=$(date +%s.%N)
"$KVMRR" run --timeout 600 -- "$workload"
echo "demo: guest exited with status 0 after $(echo "$(date +%s.%N) - $start" | bc | cut -c1-4) s"

rec=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-demo.XXXXXX")
trap 'rm -rf "$rec"' EXIT
echo
echo "demo: recording the same workload (kvm-rr record -o $rec/recording)"
"$KVMRR" record --timeout 600 -o "$rec/recording" -- "$workload" >/dev/null
echo "demo: what the recording holds (kvm-rr dump):"
"$KVMRR" dump "$rec/recording" | sed 's/^/  | /'
echo "demo: a few of its events, symbolized (kvm-rr dump --events):"
# awk reads to the end: a pipeline that stops reading early would fail under pipefail.
"$KVMRR" dump --events "$rec/recording" |
  awk '/ (syscall|cfu|yield_window|io_in) |user=0x0 sync/ && !seen[$2]++ { print "  | " substr($0, 1, 150) }'
echo "demo: every interrupt taken in kernel mode sits at a sync point (kvm-rr check):"
"$KVMRR" check "$rec/recording" | sed 's/^/  | /'
echo "demo: replaying the recorded kernel in TCG, every event checked (kvm-rr replay):"
"$KVMRR" replay --timeout 900 "$rec/recording" 2>&1 | sed 's/^/  | /'
echo "demo: its system calls, strace-like, with the values replay saw them return (kvm-rr syscalls):"
# awk reads to the end, as above.
"$KVMRR" syscalls "$rec/recording" 2>/dev/null |
  awk '/ (openat|read|write|execve|pipe2|close)\(/ && n++ < 6 { print "  | " substr($0, 1, 150) }'
