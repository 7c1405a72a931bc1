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

# The monitor flow under KVM (issue 33): plain QEMU in L1, no front end and no vmlinux named
# (KVMRR_VMLINUX unset), rr_record and rr_end_record typed into its monitor while the guest
# works; the recording comes back and replays here.
cat >"$WORK/monitor-l1.sh" <<'L1'
test -c /dev/kvm || exit 90
W='echo KVMRR-PHASE-ONE; i=0; while [ $i -lt 300 ]; do ls /proc >/dev/null; i=$((i+1)); done; echo KVMRR-PHASE-TWO; cd /tmp && seq 1 20000 > n && sort -rn n | head -n 2; echo KVMRR-PHASE-THREE; sleep 600'
B=$(printf %s "$W" | base64 | tr -d '\n')
mkfifo /tmp/m
env -u KVMRR_VMLINUX "$KVMRR_QEMU" -nodefaults -no-user-config -display none -machine pc-i440fx-5.1 \
  -accel kvm,kernel-irqchip=off,coalesced-io=off -cpu qemu64,-kvmclock,-x2apic,kvm=off -m 1024 -smp 1 \
  -L "$KVMRR_FIRMWARE" -kernel "$KVMRR_KERNEL" \
  -append "console=ttyS0 root=/dev/vda rw rootfstype=ext4 quiet loglevel=3 oops=panic panic=0 init=/sbin/kvm-rr-init kvmrr_cmd=$B" \
  -drive "file=$KVMRR_ROOTFS,if=none,id=root,format=raw,snapshot=on" -device virtio-blk-pci,drive=root \
  -device isa-debug-exit,iobase=0xf4,iosize=1,raw-status=on -no-reboot -device kvm-rr-ctl \
  -serial file:/tmp/console -monitor stdio </tmp/m >/out/monitor.out 2>&1 &
q=$!
exec 3>/tmp/m
n=0; until grep -q KVMRR-PHASE-ONE /tmp/console 2>/dev/null; do sleep 1; n=$((n+1)); [ $n -lt 300 ] || { cat /tmp/console; exit 3; }; done
echo "rr_record /out/rec" >&3
n=0; until grep -q KVMRR-PHASE-THREE /tmp/console; do sleep 1; n=$((n+1)); [ $n -lt 600 ] || { cat /tmp/console; exit 4; }; done
echo rr_end_record >&3; echo "info rr" >&3; echo quit >&3
wait $q
L1
run "$LAB" run --timeout 900 --out "$WORK/mon" -- "$(cat "$WORK/monitor-l1.sh")" >"$WORK/mon.out" 2>&1
[ "$status" = 0 ] || { tail -n 40 "$WORK/mon.out"; cat "$WORK/mon/monitor.out" 2>/dev/null; fail "the monitor flow in L1 exited $status"; }
events=$("$KVMRR" dump "$WORK/mon/rec" | sed -n 's/^events: //p')
expect_contains "$WORK/mon/monitor.out" "last recording: /out/rec ($events events, complete)"
replay_whole kvm-monitor "$WORK/mon/rec"
pass "the monitor flow under KVM: rr_record in a running L2, replayed here"
