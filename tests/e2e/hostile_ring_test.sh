#!/usr/bin/env bash
# A guest kernel that breaks its event ring's header (issue 30): QEMU must not trust it. The
# guest boots under plain QEMU with a monitor and a gdb stub, a recording starts in the
# monitor, and gdb writes a bad header_size into the guest kernel's ring (kvmrr_ring_mem) as
# a buggy or hostile kernel could. The recording must end as failed with the field named,
# QEMU and the guest must keep running (the guest's console goes on, the monitor answers),
# and what was recorded before stays readable.
. "$(dirname "$0")/lib.sh"
need_built
command -v gdb >/dev/null || fail "gdb is missing (make deps)"
qemu=$BUILD/qemu/bin/qemu-system-x86_64
mon=$WORK/mon.sock
rec=$WORK/rec
port=$((20000 + RANDOM % 20000))

wait_console() {  # wait_console TEXT [COUNT]: until the console has COUNT (1) lines with TEXT
  for _ in $(seq 1 1200); do
    [ "$(grep -c "$1" "$WORK/console" || true)" -ge "${2:-1}" ] && return 0
    kill -0 "$qpid" 2>/dev/null || { cat "$WORK/console"; fail "QEMU ended before the guest printed $1"; }
    sleep 0.25
  done
  tail -n 20 "$WORK/console"; fail "the guest never printed $1 (${2:-1} times)"
}

work='echo KVMRR-READY; i=0; while true; do ls /proc >/dev/null; i=$((i+1)); echo "KVMRR-TICK $i"; sleep 0.2; done'
machine=(-nodefaults -no-user-config -display none -machine pc-i440fx-5.1 -accel tcg -cpu qemu64
  -m 1024 -smp 1 -L "$BUILD/qemu/share" -kernel "$BUILD/kernel/bzImage"
  -append "console=ttyS0 root=/dev/vda rw rootfstype=ext4 quiet loglevel=3 oops=panic panic=0 init=/sbin/kvm-rr-init kvmrr_cmd=$(printf '%s' "$work" | base64 -w0)"
  -drive "file=$BUILD/guest/rootfs.ext4,if=none,id=root,format=raw,snapshot=on" -device virtio-blk-pci,drive=root
  -no-reboot -device kvm-rr-ctl)
KVMRR_LIB=$BUILD/lib/libkvmrr-qemu.so "$qemu" "${machine[@]}" -serial "file:$WORK/console" \
  -monitor "unix:$mon,server=on,wait=off" -gdb "tcp:localhost:$port" >"$WORK/qemu.out" 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
wait_console KVMRR-READY
hmp "rr_record $rec" >"$WORK/start"
expect_contains "$WORK/start" "recording"
wait_console KVMRR-TICK 5

# The kernel's ring: magic (u32), abi_version (u16), header_size (u16), size (u32), ...
gdb -nx -batch -ex "target remote localhost:$port" \
  -ex 'set {unsigned short}((char *)&kvmrr_ring_mem + 6) = 8' -ex detach "$BUILD/kernel/vmlinux" >"$WORK/gdb.out" 2>&1 ||
  { cat "$WORK/gdb.out"; fail "gdb could not write the guest's ring"; }
ticks=$(grep -c KVMRR-TICK "$WORK/console")
wait_console KVMRR-TICK $((ticks + 5))
kill -0 "$qpid" || fail "QEMU died after the guest broke its ring"
expect_contains "$WORK/qemu.out" "the guest's event ring is malformed: header_size 8 is not between"
hmp "info rr" "rr_end_record" "info rr" >"$WORK/end" || true
cat "$WORK/end"
kill -0 "$qpid" || fail "QEMU died at rr_end_record of a failed recording"
hmp "quit" >/dev/null || true
run wait "$qpid"
pass "a malformed ring header failed the recording, named; the guest ran on (ticks $ticks -> $(grep -c KVMRR-TICK "$WORK/console")), QEMU answered"

grep -q '"state": "failed"' "$rec/meta.json" || { cat "$rec/meta.json"; fail "meta.json does not say the recording failed"; }
expect_contains "$rec/meta.json" "header_size 8"
run "$KVMRR" dump "$rec" >"$WORK/dump" 2>"$WORK/dump.err"
[ "$status" = 3 ] || fail "dump of the failed recording exited $status (want 3: incomplete)"
events=$(sed -n 's/^events: //p' "$WORK/dump")
[ "${events:-0}" -gt 0 ] || { cat "$WORK/dump" "$WORK/dump.err"; fail "the failed recording's prefix is not readable"; }
pass "meta.json says failed and why; the $events events before it are readable"
