#!/usr/bin/env bash
# Multi-core recording under TCG (issue 5): --smp 2 and 4 record on one TCG thread that
# leaves a vCPU in kernel mode only at a sync point and logs each such deschedule. The
# recording must complete, say smp N, and hold kernel entries from every vCPU and the
# deschedules replay follows. (Replay of these recordings does not yet reach the end
# without a divergence: see the issue's notes; this test does not claim it.)
. "$(dirname "$0")/lib.sh"
need_built
W='for i in 1 2 3 4; do (seq 1 300 | sort -r | md5sum >/dev/null; ls -R /etc >/dev/null) & done; wait; echo SMP-DONE $(nproc)'
for smp in 2 4; do
  rec="$WORK/smp$smp"
  run "$KVMRR" record --smp "$smp" --timeout 300 -o "$rec" -- "$W" >"$WORK/smp$smp.out" 2>&1
  [ "$status" = 0 ] || { tail -20 "$WORK/smp$smp.out" >&2; fail "record --smp $smp: exit $status"; }
  expect_contains "$WORK/smp$smp.out" "SMP-DONE $smp"
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
  pass "record --smp $smp: complete, kernel entries from all $smp vCPUs, $(grep -c ' deschedule ' "$WORK/smp$smp.events") deschedules"
done
