#!/usr/bin/env bash
# kvm-rr replay under TCG: recordings of the four acceptance workloads (and io_uring plus
# reads of other processes' memory) replay with zero
# divergence, every event consumed; one changed value makes replay stop at that event with
# a report a kernel developer can act on; a recorder killed mid-run leaves a prefix that
# replays and says where it ends; a wrong vmlinux is refused.
. "$(dirname "$0")/lib.sh"
need_built

# record_and_replay NAME CMD: records CMD, replays it; the summary must name every event.
record_and_replay() {
  local name=$1 cmd=$2 rec=$WORK/$1
  run "$KVMRR" record --timeout 300 -o "$rec" -- "$cmd" >"$WORK/$name.out" 2>"$WORK/$name.err"
  [ "$status" = 0 ] || { cat "$WORK/$name.out" "$WORK/$name.err"; fail "$name: kvm-rr record exited $status"; }
  replay_whole "$name" "$rec"
}

for w in pipeline fio stress io_uring pmem; do
  record_and_replay "$w" "$(workload "$w")"
done

# The fio recording has device writes to replay, not only reads.
"$KVMRR" dump "$WORK/fio" >"$WORK/fio.dump"
n=$(sed -n 's/^dma: //p' "$WORK/fio.dump")
[ "${n:-0}" -gt 0 ] || fail "the fio recording has no device writes (dma events)"
pass "fio: $n device writes into guest memory replayed at their sync points"

# One changed value: replay stops exactly there, with the event, the vCPU, what was expected
# (symbolized), the registers and the events before it.
mutate=$BUILD/cmake/tests/kvmrr_mutate_recording
"$KVMRR" dump --events "$WORK/pipeline" >"$WORK/pipeline.events"
target=$(grep -E '^#[0-9]+ io_in ' "$WORK/pipeline.events" | sed -n '20p' | sed -E 's/^#([0-9]+) .*/\1/')
[ -n "$target" ] || fail "no io_in event to change"
"$mutate" "$WORK/pipeline" "$WORK/mutated" --event "$target" --rip 0xffffffff81000000
run "$KVMRR" replay "$WORK/mutated" >"$WORK/mut.out" 2>"$WORK/mut.err"
cat "$WORK/mut.out" "$WORK/mut.err"
[ "$status" = 1 ] || fail "replay of a changed recording exited $status (want 1)"
grep -qE "^replay: DIVERGED at event=$target vcpu=0: " "$WORK/mut.out" || fail "the divergence is not at event $target"
expect_contains "$WORK/mut.err" "DIVERGED at event $target on vCPU 0"
expect_contains "$WORK/mut.err" "expected: #$target io_in"
expect_contains "$WORK/mut.err" "<io_serial_in"
expect_contains "$WORK/mut.err" "actual:   rip="
expect_contains "$WORK/mut.err" "events before it:"
python3 - "$WORK/mutated/replay.json" "$target" <<'PY' || fail "replay.json does not record the divergence"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "diverged" and j["divergence"]["event_index"] == int(sys.argv[2]), j
PY
# A kernel-mode interrupt moved to the next sync point: caught at that interrupt.
irq=$(grep -m1 -E '^#[0-9]+ interrupt .*user=0x0 sync=' "$WORK/pipeline.events")
irq_index=$(sed -E 's/^#([0-9]+) .*/\1/' <<<"$irq")
irq_sync=$(sed -E 's/.* sync=(0x[0-9a-f]+).*/\1/' <<<"$irq")
"$mutate" "$WORK/pipeline" "$WORK/moved" --event "$irq_index" --arg 2 $((irq_sync + 1))
run "$KVMRR" replay "$WORK/moved" >"$WORK/moved.out" 2>"$WORK/moved.err"
cat "$WORK/moved.out"
[ "$status" = 1 ] || fail "replay of a moved interrupt exited $status (want 1)"
grep -qE "^replay: DIVERGED at event=$irq_index vcpu=0: " "$WORK/moved.out" ||
  fail "the moved interrupt is not reported at event $irq_index"
pass "a changed device read and a moved interrupt stop replay at their event ($target, $irq_index) with a report"

# A recorder killed mid-recording: its prefix replays, and replay says where it ends.
killed=$WORK/killed
record_then_kill "$killed" 20000 'i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done'
prefix=$("$KVMRR" dump "$killed" 2>/dev/null | sed -n 's/^events: //p' || true)
run "$KVMRR" replay "$killed" >"$WORK/killed.out" 2>"$WORK/killed.err"
cat "$WORK/killed.out"
[ "$status" = 0 ] || { cat "$WORK/killed.err"; fail "replay of a killed recording's prefix exited $status"; }
grep -qE "^replay: OK events=$prefix .*prefix of an incomplete recording" "$WORK/killed.out" ||
  fail "replay did not replay the $prefix-event prefix and say the recording is incomplete"
pass "killed recorder: the $prefix-event prefix replays and replay says the recording is incomplete"

# The wrong kernel is refused before QEMU starts.
run "$KVMRR" replay --vmlinux "$KVMRR" "$WORK/pipeline" >/dev/null 2>"$WORK/wrong.err"
[ "$status" = 3 ] || fail "replay with a wrong vmlinux exited $status (want 3)"
expect_contains "$WORK/wrong.err" "wrong vmlinux"
pass "a wrong vmlinux is refused"

# A corrupt event stream (bytes changed in the middle): refused with the corrupt-recording
# status before QEMU starts, naming the file.
cp -r "$WORK/pipeline" "$WORK/corrupt"
rm -f "$WORK/corrupt/replay.json"  # the copy carries the first replay's verdict
size=$(stat -c %s "$WORK/corrupt/events")
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$WORK/corrupt/events" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
run "$KVMRR" replay "$WORK/corrupt" >"$WORK/corrupt.out" 2>"$WORK/corrupt.err"
[ "$status" = 3 ] || { cat "$WORK/corrupt.err"; fail "replay of a corrupt stream exited $status (want 3)"; }
expect_contains "$WORK/corrupt.err" "$WORK/corrupt/events"
[ ! -e "$WORK/corrupt/replay.json" ] || fail "QEMU ran on a corrupt recording (replay.json written)"
pass "a corrupt event stream is refused before QEMU starts (exit 3)"
