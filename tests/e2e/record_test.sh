#!/usr/bin/env bash
# kvm-rr record under TCG: the recording holds a machine snapshot, meta.json with the
# machine's identity and CPUID table, and a complete event stream with the inputs QEMU sees
# (device reads, interrupts) at exact kernel RIPs. The command's status comes back, and a
# recorder killed mid-run leaves a prefix that dump reads and calls incomplete.
. "$(dirname "$0")/lib.sh"
need_built

rec=$WORK/pipeline
run "$KVMRR" record --timeout 300 -o "$rec" -- \
  'cd /tmp && seq 1 5000 > n && sort -rn n | head -n 2 && md5sum n && exit 3' >"$WORK/out" 2>"$WORK/err"
cat "$WORK/out" "$WORK/err"
[ "$status" = 3 ] || fail "kvm-rr record exited $status, the command exited 3"
expect_contains "$WORK/out" "5000"
expect_contains "$WORK/err" "kvm-rr record: $rec:"
[ -s "$rec/snapshot" ] || fail "no snapshot in $rec"
"$KVMRR" dump "$rec" >"$WORK/dump" || { cat "$WORK/dump"; fail "dump of a fresh recording failed"; }
cat "$WORK/dump"
expect_contains "$WORK/dump" "status: complete"
expect_contains "$WORK/dump" "timer_interrupts_per_second: "
for type in syscall exception interrupt io_in rdtsc cfu; do  # yield_window: only when an interrupt had to wait
  n=$(sed -n "s/^$type: //p" "$WORK/dump")
  [ "${n:-0}" -gt 0 ] || fail "no $type events in the recording"
done
python3 - "$rec/meta.json" <<'PY' || fail "meta.json lacks what a recording must say"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["format_version"] == 4 and m["accel"] == "tcg" and m["smp"] == 1, m
assert m["memory_mb"] == 1024 and m["cpu_model"] == "qemu64", m
assert m["guest_kernel"]["version"].startswith("Linux version 6.1"), m["guest_kernel"]
assert len(m["guest_kernel"]["vmlinux_build_id"]) == 40, m["guest_kernel"]
assert len(m["qemu"]["patches"]) >= 1 and m["qemu"]["version"].startswith("7.2"), m["qemu"]
assert m["guest_command"].startswith("cd /tmp && seq"), m["guest_command"]
leaves = {(e[0], e[1]) for e in m["cpuid"]["entries"]}
assert (0, 0) in leaves and (1, 0) in leaves and (0x80000000, 0) in leaves, sorted(leaves)[:5]
assert m["state"] == "complete" and m["events"] > 0, m
# What the recorder counted: under TCG no KVM exits, the rest as under KVM.
c = m["counters"]
assert c["exits"] == {} and c["host_seconds"] > 0, c
assert c["syscalls"] > 0 and c["interrupts"] > 0 and c["timer_interrupts"] > 0, c
PY
pass "recording of a pipeline: status 3 back, snapshot, meta.json, complete event stream"

# Every kernel-mode event sits at a kernel address (KASLR off; RIPs are exact).
"$KVMRR" dump --events "$rec" >"$WORK/events"
bad=$(grep -E '^#[0-9]+ (io_in|mmio) ' "$WORK/events" | grep -v 'rip=0xffffffff8' | head -n 3 || true)
[ -z "$bad" ] || fail "device reads at non-kernel RIPs: $bad"
pass "device reads carry kernel RIPs"

# Kernel entries from user mode come from the guest's ring with the user register file
# (pt_regs, 168 bytes) at user RIPs; the pipeline's write(2) calls are among them.
grep -qE '^#[0-9]+ syscall vcpu=0 rip=0x[0-9a-f]{1,12} <?.*nr=0x1 pid=[0-9]+ data=168B' "$WORK/events" ||
  fail "no write(2) syscall entry with its register file"
grep -qE '^#[0-9]+ exception vcpu=0 rip=0x[0-9a-f]+ .*vector=0xe error_code=0x[0-9a-f]+ cr2=0x[0-9a-f]+ pid=[0-9]+ data=168B' "$WORK/events" ||
  fail "no page-fault entry with error code, CR2 and register file"
pass "kernel entries from user mode carry vector, error code, CR2 and the user registers"

# Interrupts in kernel mode only at sync points: each carries its vCPU's sync-point number,
# strictly increasing, and its RIP follows a port-I/O or HLT instruction in vmlinux.
python3 - "$WORK/events" "$BUILD/kernel/vmlinux" <<'PY' || fail "a kernel-mode interrupt is not anchored to a sync point"
import re, subprocess, sys
events, vmlinux = sys.argv[1], sys.argv[2]
last, rips = {}, []
for line in open(events):
    m = re.match(r"#(\d+) interrupt vcpu=(\d+) rip=(0x[0-9a-f]+) .*user=0x0 sync=(0x[0-9a-f]+)", line)
    if not m:
        continue
    idx, vcpu, rip, sync = m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)
    assert sync > last.get(vcpu, 0), f"event {idx}: sync {sync} after {last.get(vcpu)}"
    last[vcpu] = sync
    rips.append((idx, rip))
assert rips, "no kernel-mode interrupt in the recording"
# The two bytes before each RIP, from vmlinux's section headers (ELF64, little-endian).
import struct
elf = open(vmlinux, "rb").read()
shoff, = struct.unpack_from("<Q", elf, 0x28)
shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
sections = []
for i in range(shnum):
    _, sh_type, _, addr, off, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
    if sh_type == 1 and addr:  # PROGBITS
        sections.append((addr, off, size))
def before(rip):
    for addr, off, size in sections:
        if addr + 2 <= rip <= addr + size:
            return elf[off + rip - addr - 2: off + rip - addr]
    return b""
for idx, rip in rips:
    b = before(rip)
    ok = len(b) == 2 and (b[1] in (0xEC, 0xED, 0xEE, 0xEF, 0xF4) or b[0] in (0xE4, 0xE5, 0xE6, 0xE7))
    assert ok, f"event {idx}: interrupt at {rip:#x} does not follow IN/OUT/HLT (bytes {b.hex()})"
print(f"{len(rips)} kernel-mode interrupts, all right after port I/O or HLT")
PY
pass "kernel-mode interrupts are anchored to sync points"

# kvm-rr check says the same from the log, and notices one changed value.
"$KVMRR" check "$rec" >"$WORK/check" || { cat "$WORK/check"; fail "kvm-rr check failed on a fresh recording"; }
expect_contains "$WORK/check" "check: OK"
mutate=$BUILD/cmake/tests/kvmrr_mutate_recording
first=$(grep -m1 -E '^#[0-9]+ interrupt .*user=0x0 sync=' "$WORK/events" | sed -E 's/^#([0-9]+) .*/\1/')
[ -n "$first" ] || fail "no kernel-mode interrupt to mutate"
elsewhere=$(nm "$BUILD/kernel/vmlinux" | awk '$3 == "_copy_from_user" {print "0x" $1}')
"$mutate" "$rec" "$WORK/moved" --event "$first" --rip "$(printf '%#x' $((elsewhere + 16)))"
run "$KVMRR" check "$WORK/moved" >"$WORK/check2"
cat "$WORK/check2"
[ "$status" = 1 ] || fail "check passed a kernel-mode interrupt moved off its sync point (exit $status)"
expect_contains "$WORK/check2" "#$first interrupt"
expect_contains "$WORK/check2" "_copy_from_user+0x10>: not right after port I/O or HLT"
expect_contains "$WORK/check2" "check: FAILED"
"$mutate" "$rec" "$WORK/resync" --event "$first" --arg 2 0
"$KVMRR" check "$WORK/resync" >"$WORK/check3" && fail "check passed a sync-point number of 0"
expect_contains "$WORK/check3" "sync point 0 does not follow"
pass "kvm-rr check: OK on the recording, names the event when one value is changed"

# Symbolized with the recorded kernel; another ELF is refused as the wrong vmlinux.
grep -qE '^#[0-9]+ io_in .* <[a-z_0-9.]+(\+0x[0-9a-f]+)?>' "$WORK/events" ||
  fail "dump --events did not symbolize kernel RIPs"
run "$KVMRR" dump --events --vmlinux "$BUILD/bin/kvm-rr" "$rec" >/dev/null 2>"$WORK/err"
[ "$status" = 3 ] || fail "dump with a wrong vmlinux exited $status"
expect_contains "$WORK/err" "wrong vmlinux"
pass "RIPs symbolized with the recorded kernel; a wrong vmlinux is named"

# A recorder killed with SIGKILL mid-recording: the prefix stays readable.
killed=$WORK/killed
# Kill QEMU itself, like a crash of the recorder; the front end then reports the failure.
record_then_kill "$killed" 2000 'i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done'
fe_status=$status
set +e
"$KVMRR" dump "$killed" >"$WORK/kdump" 2>"$WORK/kerr"
status=$?
set -e
cat "$WORK/kdump" "$WORK/kerr"
[ "$fe_status" = 125 ] || fail "kvm-rr record exited $fe_status after QEMU was killed (want 125)"
[ "$status" = 3 ] || fail "dump of a killed recording exited $status (want 3)"
expect_contains "$WORK/kdump" "status: incomplete"
expect_contains "$WORK/kerr" "incomplete recording"
n=$(sed -n 's/^events: //p' "$WORK/kdump")
[ "${n:-0}" -gt 0 ] || fail "the killed recording's prefix has no events"
pass "killed recorder: dump reads $n events of the prefix and says incomplete"

# More vCPUs than the guest ABI's rings hold is refused before booting, not hung.
run "$KVMRR" record --smp 9 -o "$WORK/smp9" -- true 2>"$WORK/smp9.err"
[ "$status" = 2 ] || fail "record --smp 9: exit $status, expected 2"
expect_contains "$WORK/smp9.err" "--smp must be between 1 and 8"
[ ! -e "$WORK/smp9/meta.json" ] || fail "record --smp 9 left a recording"
pass "record --smp 9 refused before booting"
# Under KVM too, before the KVM diagnosis (which would otherwise speak first on a host whose
# KVM is missing or software).
run "$KVMRR" record --accel kvm --smp 9 -o "$WORK/kvm9" -- true 2>"$WORK/kvm9.err"
[ "$status" = 2 ] || fail "record --accel kvm --smp 9: exit $status, expected 2"
expect_contains "$WORK/kvm9.err" "--smp must be between 1 and 8"
pass "record --accel kvm --smp 9 names the bad value"
# A zero timeout is a mistake, not "no limit" nor "kill at once".
run "$KVMRR" record --timeout 0 -o "$WORK/t0" -- true 2>"$WORK/t0.err"
[ "$status" = 2 ] && expect_contains "$WORK/t0.err" "--timeout needs seconds above 0"
[ ! -e "$WORK/t0/meta.json" ] || fail "record --timeout 0 left a recording"
pass "record --timeout 0 refused"
