#!/usr/bin/env bash
# Multi-core recording under KVM (issue 5), through the lab (tools/kvm-lab: real kvm_amd in
# an L1 VM under TCG, two L1 vCPUs): --smp 2 and 4, one recording each of the e2e.smp
# workload (stress-ng with 6 stressors of 4 workers, fio with 2 jobs on the virtio-blk root,
# kvm-rr-pingpong). Both recordings come back to this host, must hold kernel entries from
# every vCPU and the vCPU switches, pass `kvm-rr check`, and replay here under TCG with zero
# divergence.
. "$(dirname "$0")/lib.sh"
need_built
LAB=$(cd "$(dirname "$0")/../.." && pwd)/tools/kvm-lab
W='stress-ng --fork 4 --pipe 4 --futex 4 --mmap 4 --timer 4 --sigq 4 --timeout 2 --quiet &&
fio --name=j --filename=/root/f --size=8M --rw=randrw --bs=4k --direct=1 --numjobs=2 --runtime=2 --time_based --output-format=terse >/dev/null &&
kvm-rr-pingpong 2 2000 && echo SMP-DONE $(nproc)'
# One L1 boot for both recordings; each recording's status comes back in /out.
script='test -c /dev/kvm || exit 90
for smp in 2 4; do
  kvm-rr record --accel kvm --smp $smp --timeout 300 -o /out/smp$smp -- "$W" > /out/smp$smp.out 2>&1
  echo $? > /out/smp$smp.status
done'
run "$LAB" run --cpus 2 --timeout 1500 --out "$WORK/out" -- "W='${W//\'/\'\\\'\'}'; $script" \
  >"$WORK/lab.out" 2>&1
[ "$status" != 90 ] || fail "L1 has no /dev/kvm: kvm_amd did not load"
[ "$status" = 0 ] || { tail -n 40 "$WORK/lab.out"; fail "kvm-lab exited $status"; }
for smp in 2 4; do
  rec=$WORK/out/smp$smp
  [ "$(cat "$WORK/out/smp$smp.status")" = 0 ] ||
    { tail -n 40 "$WORK/out/smp$smp.out"; fail "record --accel kvm --smp $smp: exit $(cat "$WORK/out/smp$smp.status")"; }
  expect_contains "$WORK/out/smp$smp.out" "SMP-DONE $smp"
  expect_contains "$WORK/out/smp$smp.out" "PINGPONG pairs=2 rounds=2000 futex_handovers=8000 pipe_handovers=8000 ok"
  python3 - "$rec/meta.json" "$smp" <<'PY' || fail "record --accel kvm --smp $smp: meta.json"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["accel"] == "kvm" and m["smp"] == int(sys.argv[2]) and m["state"] == "complete", m
PY
  "$KVMRR" dump --events "$rec" >"$WORK/smp$smp.events" || fail "dump of the KVM --smp $smp recording"
  for v in $(seq 0 $((smp - 1))); do
    grep -qE "^#[0-9]+ syscall vcpu=$v " "$WORK/smp$smp.events" ||
      fail "record --accel kvm --smp $smp: no syscall entry from vCPU $v"
  done
  grep -q " deschedule vcpu=" "$WORK/smp$smp.events" || fail "KVM --smp $smp: no deschedule logged"
  grep -q " resume vcpu=" "$WORK/smp$smp.events" || fail "KVM --smp $smp: no resume logged"
  run "$KVMRR" check "$rec" >"$WORK/smp$smp.check" 2>&1
  [ "$status" = 0 ] || { cat "$WORK/smp$smp.check" >&2; fail "check of the KVM --smp $smp recording: exit $status"; }
  replay_whole "kvm-smp$smp" "$rec"
done
