#!/usr/bin/env bash
# The monitor flow KRR's users know, with no front end: boot the guest with plain QEMU and a
# monitor socket, a workload running; `rr_record DIR` in the middle of it, `rr_end_record`
# later; then replay DIR with `kvm-rr replay` and with QEMU's -kernel-replay by hand
# (docs/usage.md#replay-by-hand). Every event must replay.
. "$(dirname "$0")/lib.sh"
need_built
qemu=$BUILD/qemu/bin/qemu-system-x86_64
mon=$WORK/mon.sock
rec=$WORK/monitor-rec


# wait_console TEXT: until the guest prints TEXT (a boot under TCG takes tens of seconds).
wait_console() {
  for _ in $(seq 1 1200); do
    grep -q "$1" "$WORK/console" && return 0
    kill -0 "$qpid" 2>/dev/null || { cat "$WORK/console"; fail "QEMU ended before the guest printed $1"; }
    sleep 0.25
  done
  cat "$WORK/console"; fail "the guest never printed $1"
}

work='echo KVMRR-PHASE-ONE; i=0; while [ $i -lt 300 ]; do ls /proc >/dev/null; i=$((i+1)); done
echo KVMRR-PHASE-TWO; cd /tmp && seq 1 20000 > n && sort -rn n | head -n 2 && cat /proc/uptime
echo KVMRR-PHASE-THREE; sleep 600'
machine=(-nodefaults -no-user-config -display none -machine pc-i440fx-5.1 -accel tcg -cpu qemu64
  -m 1024 -smp 1 -L "$BUILD/qemu/share" -kernel "$BUILD/kernel/bzImage"
  -append "console=ttyS0 root=/dev/vda rw rootfstype=ext4 quiet loglevel=3 oops=panic panic=0 init=/sbin/kvm-rr-init kvmrr_cmd=$(printf '%s' "$work" | base64 -w0)"
  -drive "file=$BUILD/guest/rootfs.ext4,if=none,id=root,format=raw,snapshot=on" -device virtio-blk-pci,drive=root
  -device isa-debug-exit,iobase=0xf4,iosize=1,raw-status=on -no-reboot -device kvm-rr-ctl)

KVMRR_LIB=$BUILD/lib/libkvmrr-qemu.so "$qemu" "${machine[@]}" -serial "file:$WORK/console" \
  -monitor "unix:$mon,server=on,wait=off" >"$WORK/qemu.out" 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
wait_console KVMRR-PHASE-ONE
hmp "rr_record $rec" "info rr" >"$WORK/start"
cat "$WORK/start"
expect_contains "$WORK/start" "state: recording"
wait_console KVMRR-PHASE-THREE
hmp "rr_end_record" "info rr" "quit" >"$WORK/end" || true
cat "$WORK/end"
run wait "$qpid"

"$KVMRR" dump "$rec" >"$WORK/dump" || { cat "$WORK/dump"; fail "dump of the monitor's recording failed"; }
events=$(sed -n 's/^events: //p' "$WORK/dump")
[ "${events:-0}" -gt 1000 ] || fail "the monitor's recording holds ${events:-no} events"
expect_contains "$WORK/end" "last recording: $rec ($events events, complete)"
pass "rr_record and rr_end_record in a running guest's monitor; info rr counts the $events events"

python3 - "$rec/meta.json" "$(cat "$BUILD/kernel/version" 2>/dev/null || true)" <<'PY' || fail "meta.json does not name the guest kernel"
import json, sys
m = json.load(open(sys.argv[1]))
k = m["guest_kernel"]
assert len(k["vmlinux_build_id"]) == 40, k
assert k["version"].startswith("Linux version 6.1"), k
PY
pass "the recording names the guest kernel by what its memory holds (no front end said)"

replay_whole monitor "$rec"

# By hand, as KRR documents -kernel-replay: the recording's machine, TCG, the replaying
# library and the recorded kernel's vmlinux; no console, no monitor.
rm -f "$rec/replay.json"
run env KVMRR_LIB="$BUILD/lib/libkvmrr-qemu.so" KVMRR_VMLINUX="$BUILD/kernel/vmlinux" \
  "$qemu" "${machine[@]}" -serial null -kernel-replay "$rec" >"$WORK/byhand.out" 2>&1
[ "$status" = 0 ] || { tail -n 40 "$WORK/byhand.out"; fail "-kernel-replay by hand exited $status"; }
python3 - "$rec/replay.json" "$events" <<'PY' || { cat "$rec/replay.json"; fail "-kernel-replay by hand did not replay every event"; }
import json, sys
v = json.load(open(sys.argv[1]))
assert v["result"] == "ok" and v["events_replayed"] == v["events_total"] == int(sys.argv[2]), v
PY
pass "QEMU -kernel-replay by hand replays the monitor's recording to its end"

# By hand on another machine: refused before the snapshot loads, naming what differs and
# the option that gives the recording's value.
run env KVMRR_LIB="$BUILD/lib/libkvmrr-qemu.so" KVMRR_VMLINUX="$BUILD/kernel/vmlinux" \
  "$qemu" "${machine[@]}" -m 512 -serial null -kernel-replay "$rec" >"$WORK/other.out" 2>&1
[ "$status" != 0 ] || fail "-kernel-replay on a machine with less memory succeeded"
expect_contains "$WORK/other.out" "1024 MiB of RAM (-m 1024), not 512"
pass "-kernel-replay on another machine says what differs"

# A recording that names no kernel (made from the monitor before recordings did): replay asks
# for the vmlinux, and replays with the one given (every event still checked).
unnamed=$WORK/unnamed
cp -r "$rec" "$unnamed"
python3 - "$unnamed/meta.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["guest_kernel"]["vmlinux_build_id"] = ""; m["guest_kernel"]["version"] = ""
json.dump(m, open(sys.argv[1], "w"))
PY
run "$KVMRR" replay "$unnamed" >/dev/null 2>"$WORK/unnamed.err"
[ "$status" = 2 ] || { cat "$WORK/unnamed.err"; fail "replay of a recording naming no kernel, no --vmlinux: exited $status (want 2)"; }
expect_contains "$WORK/unnamed.err" "give the recorded kernel's vmlinux with --vmlinux FILE"
run "$KVMRR" replay --vmlinux "$BUILD/kernel/vmlinux" "$unnamed" >"$WORK/unnamed.out" 2>"$WORK/unnamed.err"
[ "$status" = 0 ] || { tail -n 30 "$WORK/unnamed.err"; fail "replay of a recording naming no kernel with --vmlinux exited $status"; }
expect_contains "$WORK/unnamed.err" "does not name its kernel; replaying with"
expect_contains "$WORK/unnamed.out" "replay: OK events=$events"
pass "a recording that names no kernel replays with the vmlinux the user gives"
