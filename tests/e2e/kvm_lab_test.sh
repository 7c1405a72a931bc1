#!/usr/bin/env bash
# tools/kvm-lab: the L1 VM boots under TCG with AMD SVM, kvm_amd gives it a real /dev/kvm,
# kvm-rr's build runs from /lab, and the default guest boots under KVM inside it (L2),
# with its command's status and /out files coming back to the host. Then recordings made
# under KVM there replay here (see below).
. "$(dirname "$0")/lib.sh"
need_built
LAB=$(cd "$(dirname "$0")/../.." && pwd)/tools/kvm-lab

run "$LAB" run --timeout 900 --out "$WORK/out" -- \
  'test -c /dev/kvm || exit 90
   kvm-rr run --accel kvm --timeout 600 -- "echo L2 \$(uname -r) under \$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource); exit 7"
   echo "l2-status $?" > /out/result; exit 5' >"$WORK/lab.out" 2>&1
cat "$WORK/lab.out"
[ "$status" != 90 ] || fail "L1 has no /dev/kvm: kvm_amd did not load"
[ "$status" = 5 ] || fail "kvm-lab exited $status (the L1 command exits 5)"
expect_contains "$WORK/lab.out" "L2 6.1"
expect_contains "$WORK/out/result" "l2-status 7"
pass "L1 with kvm_amd under TCG; the guest ran under KVM inside it; statuses and /out came back"
# The nested guest cannot calibrate its TSC (no PIT it trusts, no HPET): told KVM's TSC
# frequency, it keeps time with the TSC rather than with jiffies.
expect_contains "$WORK/lab.out" "under tsc"

# Recording under KVM (issue 4's acceptance): the four workloads recorded with --accel kvm
# inside L1 replay on this host under TCG with zero divergence, and every interrupt the
# recordings took in kernel mode is anchored to a sync point (kvm-rr check, log alone).
for w in pipeline fio stress pmem; do
  rec=$WORK/kvm-$w
  run "$LAB" record --timeout 300 -o "$rec" -- "$(workload "$w")" >"$WORK/kvm-$w.out" 2>&1
  [ "$status" = 0 ] || { tail -n 60 "$WORK/kvm-$w.out"; fail "kvm-lab record $w exited $status"; }
  python3 - "$rec/meta.json" <<'PY' || fail "$w: the recording does not say it was made under KVM"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["accel"] == "kvm", m["accel"]
# What the recorder counted: QEMU's exits by reason, the guest's entries and ticks.
c = m["counters"]
assert sum(c["exits"].values()) > 0, c
assert c["syscalls"] > 0 and c["timer_interrupts"] > 0, c
PY
  run "$KVMRR" check "$rec" >"$WORK/kvm-$w.check"
  cat "$WORK/kvm-$w.check"
  [ "$status" = 0 ] || fail "$w: kvm-rr check found interrupts not anchored to sync points"
  grep -qE '^check: OK .*kernel_mode_interrupts=[0-9]+' "$WORK/kvm-$w.check" || fail "$w: no check summary"
  replay_whole "kvm-$w" "$rec"
done
