#!/usr/bin/env bash
# Multi-core recording and replay under TCG (issue 5), --smp 2 and 4: one recording of
# stress-ng (6 stressors, 4 workers each), fio with 2 jobs (direct I/O on the virtio-blk root
# disk) and kvm-rr-pingpong (thread pairs handing a token over by futex, then by pipe). The
# recording must complete, say smp N, hold kernel entries from every vCPU and the vCPU
# switches (deschedule, resume) replay follows, pass `kvm-rr check` (interrupts and switches
# at sync points); the replay must reach the end of the log with no divergence.
. "$(dirname "$0")/lib.sh"
need_built
W='stress-ng --fork 4 --pipe 4 --futex 4 --mmap 4 --timer 4 --sigq 4 --timeout 2 --quiet &&
fio --name=j --filename=/root/f --size=8M --rw=randrw --bs=4k --direct=1 --numjobs=2 --runtime=2 --time_based --output-format=terse >/dev/null &&
kvm-rr-pingpong 2 2000 && echo SMP-DONE $(nproc)'
for smp in 2 4; do
  rec="$WORK/smp$smp"
  run "$KVMRR" record --smp "$smp" --timeout 600 -o "$rec" -- "$W" >"$WORK/smp$smp.out" 2>&1
  [ "$status" = 0 ] || { tail -20 "$WORK/smp$smp.out" >&2; fail "record --smp $smp: exit $status"; }
  expect_contains "$WORK/smp$smp.out" "SMP-DONE $smp"
  expect_contains "$WORK/smp$smp.out" "PINGPONG pairs=2 rounds=2000 futex_handovers=8000 pipe_handovers=8000 ok"
  python3 - "$rec/meta.json" "$smp" <<'PY' || fail "record --smp $smp: meta.json"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["smp"] == int(sys.argv[2]) and m["state"] == "complete", m
PY
  "$KVMRR" dump --events "$rec" >"$WORK/smp$smp.events" || fail "dump of the --smp $smp recording"
  for v in $(seq 0 $((smp - 1))); do
    grep -qE "^#[0-9]+ syscall vcpu=$v " "$WORK/smp$smp.events" ||
      fail "record --smp $smp: no syscall entry from vCPU $v"
  done
  grep -q " deschedule vcpu=" "$WORK/smp$smp.events" || fail "record --smp $smp: no deschedule logged"
  grep -q " resume vcpu=" "$WORK/smp$smp.events" || fail "record --smp $smp: no resume logged"
  run "$KVMRR" check "$rec" >"$WORK/smp$smp.check" 2>&1
  [ "$status" = 0 ] || { cat "$WORK/smp$smp.check" >&2; fail "check of the --smp $smp recording: exit $status"; }
  # pmem-check's crash model is one vCPU's: it says so rather than check.
  run "$KVMRR" pmem-check "$rec" >"$WORK/smp$smp.pmem" 2>&1
  [ "$status" = 3 ] || { cat "$WORK/smp$smp.pmem" >&2; fail "pmem-check of an --smp $smp recording: exit $status, not 3"; }
  expect_contains "$WORK/smp$smp.pmem" "recorded with $smp vCPUs"
  run "$KVMRR" replay --timeout 600 "$rec" >"$WORK/smp$smp.replay" 2>&1
  [ "$status" = 0 ] || { tail -40 "$WORK/smp$smp.replay" >&2; keep_diverged "smp$smp" "$rec"; fail "replay of the --smp $smp recording: exit $status"; }
  expect_contains "$WORK/smp$smp.replay" "replay: OK events="
  pass "--smp $smp: $(grep -c '' "$WORK/smp$smp.events") events from all $smp vCPUs, $(grep -c ' deschedule ' "$WORK/smp$smp.events") deschedules; $(grep -o 'replay: OK.*' "$WORK/smp$smp.replay")"
done
