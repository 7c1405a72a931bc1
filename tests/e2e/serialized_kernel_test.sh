#!/usr/bin/env bash
# The serialized guest kernel (kvmrr_serialize: one CPU in the kernel at a time, the basis of
# multi-core recording) on 2 and 4 vCPUs: stress-ng (6 stressors, 4 workers each) and fio
# with 2 jobs of direct I/O on virtio-blk must finish. A wait for another CPU left
# unbracketed would hang the guest (the timeout fails the test); it did, for fio, until
# the lock's owner became the only record of who holds it.
. "$(dirname "$0")/lib.sh"
need_built
W='grep -qw kvmrr_serialize /proc/cmdline || { echo "not serialized"; exit 3; };
stress-ng --fork 4 --pipe 4 --futex 4 --mmap 4 --timer 4 --sigq 4 --timeout 3 --quiet &&
fio --name=j --filename=/root/f --size=8M --rw=randrw --bs=4k --direct=1 --numjobs=2 --runtime=2 --time_based --output-format=terse >/dev/null &&
echo SERIALIZED-OK $(nproc)'
for smp in 2 4; do
  run "$KVMRR" run --smp "$smp" --kernel-args kvmrr_serialize --timeout 300 -- "$W" >"$WORK/smp$smp.out" 2>&1
  [ "$status" = 0 ] || { tail -20 "$WORK/smp$smp.out" >&2; fail "serialized kernel, --smp $smp: exit $status"; }
  expect_contains "$WORK/smp$smp.out" "SERIALIZED-OK $smp"
  pass "serialized kernel, --smp $smp: stress-ng and 2-job fio finished"
done
