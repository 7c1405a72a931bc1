#!/usr/bin/env bash
# The default guest boots under TCG with the patched QEMU, runs a command as root, and QEMU
# and kvm-rr exit with that command's status. The guest has what later tests rely on:
# /tmp on tmpfs, /dev/pmem0 mountable with ext4 -o dax, an ext4 root on virtio-blk, and
# the workloads stress-ng, fio, db_bench and kvm-rr-microbench.
. "$(dirname "$0")/lib.sh"
need_built

out=$WORK/out
set +e
"$KVMRR" run --timeout 300 -- '
  set -e
  echo "uid=$(id -u)"
  grep " /tmp " /proc/mounts
  grep " / " /proc/mounts
  ls /sys/block | tr "\n" " "; echo
  mkfs.ext4 -q -F -b 4096 /dev/pmem0
  mount -o dax /dev/pmem0 /mnt/pmem
  echo persistent > /mnt/pmem/file && sync
  grep " /mnt/pmem " /proc/mounts
  stress-ng --fork 1 --fork-ops 50 --quiet && echo stress-ng-ok
  fio --name=t --filename=/root/fio.dat --size=4M --rw=randrw --bs=4k --direct=1 \
      --ioengine=psync --output-format=terse >/dev/null && echo fio-ok
  db_bench --benchmarks=fillrandom --num=2000 --db=/tmp/db >/dev/null && echo db_bench-ok
  kvm-rr-microbench all 200
  exit 7' >"$out" 2>"$WORK/err"
status=$?
set -e
cat "$out"
[ "$status" = 7 ] || { cat "$WORK/err" >&2; fail "kvm-rr run exited $status, the command exited 7"; }
expect_contains "$out" "uid=0"
expect_contains "$out" "tmpfs /tmp tmpfs"
expect_contains "$out" "/dev/root / ext4 rw"
expect_contains "$out" "vda"
expect_contains "$out" "/dev/pmem0 /mnt/pmem ext4 rw,relatime,dax=always"
expect_contains "$out" "stress-ng-ok"
expect_contains "$out" "fio-ok"
expect_contains "$out" "db_bench-ok"
for b in getpid write4k forkexit pipe mmap; do
  grep -qE "^BENCH $b ops=200 seconds=[0-9.]+ ns_per_op=[0-9]+$" "$out" || fail "no $b result from kvm-rr-microbench"
done
pass "guest ran the command as root with pmem/DAX, tmpfs and the workloads; status 7 came back"

# Success is 0, and several words are quoted like a shell would.
"$KVMRR" run --timeout 120 -- printf '%s|' 'a b' c >"$out" || fail "kvm-rr run -- printf failed"
expect_contains "$out" "a b|c|"
pass "status 0 and argument quoting"

# QEMU itself (not only the front end) exits with the command's status.
argv_file=$WORK/argv
"$KVMRR" run --verbose -- 'exit 42' 2>"$argv_file" >/dev/null && fail "exit 42 reported success" || true
qemu_line=$(sed -n 's/^kvm-rr run: //p' "$argv_file")
set +e
eval "$qemu_line" >/dev/null 2>&1
status=$?
set -e
[ "$status" = 42 ] || fail "QEMU exited $status for a guest command that exited 42"
pass "QEMU exits with the command's status"

# A guest that resets (here a deliberate triple fault: Linux's reboot=t) is named as such,
# with the vCPU and where it faulted, not reported as a clean exit of QEMU.
set +e
"$KVMRR" run --timeout 120 --kernel-args reboot=t -- 'reboot -f; sleep 10' >"$out" 2>"$WORK/err"
status=$?
set -e
[ "$status" = 125 ] || { cat "$WORK/err" >&2; fail "a guest reset exited $status, expected 125"; }
expect_contains "$WORK/err" "vCPU 0 triple fault (exception 0x"
expect_contains "$WORK/err" "the guest did not report the command's status: QEMU exited with status 0: the guest reset (a triple fault?)"
pass "a triple fault is reported with its vCPU and RIP"
