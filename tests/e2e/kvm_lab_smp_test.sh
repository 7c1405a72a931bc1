#!/usr/bin/env bash
# Multi-core recording under KVM (issue 5), through the lab (tools/kvm-lab: real kvm_amd in
# an L1 VM under TCG): --smp 2 and 4, one recording each of the e2e.smp
# workload (stress-ng with 6 stressors of 4 workers, fio with 2 jobs on the virtio-blk root,
# kvm-rr-pingpong). Both recordings come back to this host, must hold kernel entries from
# every vCPU and the vCPU switches, pass `kvm-rr check`, and replay here under TCG with zero
# divergence.
. "$(dirname "$0")/lib.sh"
need_built
LAB=$(cd "$(dirname "$0")/../.." && pwd)/tools/kvm-lab
# One L1 boot for both recordings; each recording's status comes back in /out. L1 has one
# vCPU: with two, TCG's nested SVM now and then hands a running L2 vCPU L1's own registers
# (L1's CR3, a RIP in kvm_amd: nothing L2's QEMU knows) and the guest dies (issue 5's notes).
script='test -c /dev/kvm || exit 90
for smp in 2 4; do
  kvm-rr record --accel kvm --smp $smp --timeout 300 -o /out/smp$smp -- "$SMP_WORKLOAD" > /out/smp$smp.out 2>&1
  echo $? > /out/smp$smp.status
done'
run "$LAB" run --cpus 1 --timeout 1500 --out "$WORK/out" -- "SMP_WORKLOAD='${SMP_WORKLOAD//\'/\'\\\'\'}'; $script" \
  >"$WORK/lab.out" 2>&1
[ "$status" != 90 ] || fail "L1 has no /dev/kvm: kvm_amd did not load"
[ "$status" = 0 ] || { tail -n 40 "$WORK/lab.out"; fail "kvm-lab exited $status"; }
for smp in 2 4; do
  rec=$WORK/out/smp$smp
  [ "$(cat "$WORK/out/smp$smp.status")" = 0 ] ||
    { # A stall report's head (holder, each vCPU's state) first: the stacks after it are long.
      grep -m 1 -A 8 "no vCPU exited nor" "$WORK/out/smp$smp.out" || true
      tail -n 40 "$WORK/out/smp$smp.out"
      fail "record --accel kvm --smp $smp: exit $(cat "$WORK/out/smp$smp.status")"; }
  check_smp_recording "kvm-smp$smp" kvm "$smp" "$WORK/out/smp$smp.out" "$rec"
  # The kernel token in the ring (format 3): replay skips its port writes by the ring's flag.
  "$KVMRR" dump "$rec" >"$WORK/smp$smp.dump"
  grep -qE '"format_version": (3|4)' "$rec/meta.json" || fail "kvm-smp$smp: not a format 3 or later recording"
  # The guest kept time with the TSC, told its rate, not with jiffies (issue 22).
  expect_contains "$WORK/smp$smp.dump" "guest_clock: tsc (tsc_early_khz="
  # ... and its clock kept the host's pace (a starved or stopped clock shows well below 1;
  # the span of the kernel's TSC reads is inside the recording, so a little under 1).
  ratio=$(sed -n 's/^guest_clock_ratio: \([0-9.]*\).*/\1/p' "$WORK/smp$smp.dump")
  [ -n "$ratio" ] || fail "kvm-smp$smp: dump printed no guest_clock_ratio"
  awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5 && r <= 1.05) }' ||
    fail "kvm-smp$smp: guest_clock_ratio $ratio: the guest's TSC did not keep the host's pace"
  replay_whole "kvm-smp$smp" "$rec"
done
