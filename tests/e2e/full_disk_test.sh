#!/usr/bin/env bash
# A disk that fills up while recording: the recorder says so, QEMU keeps running (no abort
# through the C ABI), the command's run reports failure (125), and what was written stays
# readable: dump counts the prefix and calls it incomplete. meta.json stays valid (it is
# replaced atomically, so a full disk leaves the previous version; where space allows it
# says "failed" and why).
. "$(dirname "$0")/lib.sh"
need_built
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: needs root to mount a small tmpfs that can fill up" >&2
  exit 77
fi
small=$WORK/small
mkdir -p "$small"
mount -t tmpfs -o size=36m tmpfs "$small"
trap 'umount "$small" 2>/dev/null; rm -rf "$WORK"' EXIT

# The snapshot (~31 MiB) fits; 16 MiB of random data copied from user space does not.
run "$KVMRR" record --timeout 300 -o "$small/rec" -- \
  'dd if=/dev/urandom of=/tmp/r bs=1M count=16 2>/dev/null; echo copied' >"$WORK/out" 2>"$WORK/err"
cat "$WORK/out" "$WORK/err"
[ "$status" = 125 ] || fail "kvm-rr record exited $status on a full disk (want 125)"
expect_contains "$WORK/err" "No space left on device"
run "$KVMRR" dump "$small/rec" >"$WORK/dump" 2>"$WORK/derr"
dstatus=$status
cat "$WORK/dump" "$WORK/derr"
[ "$dstatus" = 3 ] || fail "dump of the failed recording exited $dstatus (want 3)"
expect_contains "$WORK/dump" "status: incomplete"
python3 - "$small/rec/meta.json" <<'PY' || fail "meta.json is not a valid record of the failed recording"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["state"] in ("recording", "failed"), m.get("state")
assert m["state"] == "recording" or "No space left" in m["failure"], m
PY
n=$(sed -n 's/^events: //p' "$WORK/dump")
[ "${n:-0}" -gt 0 ] || fail "no events readable before the disk filled up"
pass "full disk: recording failed cleanly, QEMU kept going, $n events of the prefix readable"

# Room again (as a user who freed space): the prefix replays as far as it goes.
mount -o remount,size=96m "$small"
run "$KVMRR" replay "$small/rec" >"$WORK/replay" 2>"$WORK/replay.err"
[ "$status" = 0 ] || { tail -n 30 "$WORK/replay.err"; cat "$WORK/replay"; fail "the full disk's prefix did not replay (exit $status)"; }
expect_contains "$WORK/replay" "prefix of an incomplete recording"
pass "full disk: the prefix of $n events replays: $(cat "$WORK/replay")"
