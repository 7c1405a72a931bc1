#!/usr/bin/env bash
# `info rr` (qemu-patches) reports the kvm-rr core library, the recording format version and
# the recording state, and says clearly when the library is not available.
. "$(dirname "$0")/lib.sh"
need_built
qemu=$BUILD/qemu/bin/qemu-system-x86_64
format=$("$KVMRR" --version | sed -n 's/.*recording format \([0-9]*\).*/\1/p')
[ -n "$format" ] || fail "kvm-rr --version names no recording format"

printf 'info rr\nquit\n' | KVMRR_LIB=$BUILD/lib/libkvmrr-qemu.so \
  "$qemu" -M none -display none -nodefaults -monitor stdio >"$WORK/with" 2>&1
expect_contains "$WORK/with" "format version: $format"
expect_contains "$WORK/with" "state: idle"
expect_contains "$WORK/with" "library: kvm-rr"
pass "info rr with the core library loaded"

printf 'info rr\nquit\n' | env -u KVMRR_LIB "$qemu" -M none -display none -nodefaults \
  -monitor stdio >"$WORK/without" 2>&1
expect_contains "$WORK/without" "state: unavailable"
expect_contains "$WORK/without" "KVMRR_LIB is not set"
pass "info rr without the core library"

printf 'info rr\nquit\n' | KVMRR_LIB=/nonexistent/lib.so "$qemu" -M none -display none \
  -nodefaults -monitor stdio >"$WORK/bad" 2>&1
expect_contains "$WORK/bad" "cannot load /nonexistent/lib.so"
pass "info rr with a missing library"

# rr_record / rr_end_record in the monitor, on a paused pc machine: the recording gets its
# meta.json, snapshot and a sealed event stream; info rr follows the state.
rec=$WORK/monitor-rec
printf 'rr_record %s\ninfo rr\nrr_end_record\ninfo rr\nrr_end_record\nquit\n' "$rec" |
  KVMRR_LIB=$BUILD/lib/libkvmrr-qemu.so "$qemu" -M pc-i440fx-5.1 -cpu qemu64 -m 256 -S \
  -display none -nodefaults -L "$BUILD/qemu/share" -monitor stdio >"$WORK/mon" 2>&1
expect_contains "$WORK/mon" "kvm-rr: recording into $rec"
expect_contains "$WORK/mon" "state: recording"
expect_contains "$WORK/mon" "kvm-rr: recording ended"
expect_contains "$WORK/mon" "last recording: $rec"
expect_contains "$WORK/mon" "kvm-rr: not recording"
[ -s "$rec/snapshot" ] || fail "rr_record wrote no snapshot"
"$KVMRR" dump "$rec" >"$WORK/mdump" || { cat "$WORK/mdump"; fail "dump of the monitor's recording failed"; }
expect_contains "$WORK/mdump" "status: complete"
pass "rr_record, info rr and rr_end_record in the monitor"

printf 'rr_record %s\nquit\n' "$WORK/none" | KVMRR_LIB=$BUILD/lib/libkvmrr-qemu.so \
  "$qemu" -M none -display none -nodefaults -monitor stdio >"$WORK/none.out" 2>&1
expect_contains "$WORK/none.out" "no vCPU to record"
pass "rr_record on a machine without vCPUs is refused"

# The same over QMP: query-rr, rr-record, rr-end-record (a management tool's view).
rec=$WORK/qmp-rec
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-rr"}' \
  "{\"execute\":\"rr-record\",\"arguments\":{\"dir\":\"$rec\"}}" '{"execute":"query-rr"}' \
  '{"execute":"rr-end-record"}' '{"execute":"rr-end-record"}' '{"execute":"quit"}' |
  KVMRR_LIB=$BUILD/lib/libkvmrr-qemu.so "$qemu" -M pc-i440fx-5.1 -cpu qemu64 -m 256 -S \
  -display none -nodefaults -L "$BUILD/qemu/share" -qmp stdio >"$WORK/qmp" 2>&1
python3 - "$WORK/qmp" "$format" <<'PY' || { cat "$WORK/qmp"; fail "QMP answers are not as expected"; }
import json, sys
replies = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
answers = [r for r in replies if "return" in r or "error" in r][1:]  # after qmp_capabilities
idle, started, recording, ended, again = answers[:5]
assert idle["return"]["state"] == "idle" and idle["return"]["format-version"] == int(sys.argv[2]), idle
assert idle["return"]["library"].startswith("kvm-rr"), idle
assert started == {"return": {}}, started
assert recording["return"]["state"] == "recording", recording
assert ended == {"return": {}}, ended
assert "not recording" in again["error"]["desc"], again
PY
"$KVMRR" dump "$rec" >"$WORK/qdump" || { cat "$WORK/qdump"; fail "dump of the QMP recording failed"; }
expect_contains "$WORK/qdump" "status: complete"
pass "query-rr, rr-record and rr-end-record over QMP"
