#!/usr/bin/env bash
# A recorder killed anywhere (issue 30): ten recordings of one workload, each QEMU killed
# with SIGKILL at its own point: once while it writes the machine snapshot, the others at
# random sizes of the event stream (the ring drains, device writes and frames go on all the
# time, so the points fall inside them too). Every prefix must be readable (`kvm-rr dump`:
# status 3, the events counted, "incomplete") and replay as far as it goes (`kvm-rr replay`:
# OK, "prefix of an incomplete recording"); a recording killed before its snapshot was whole
# is refused by name (status 3), not handed to QEMU.
. "$(dirname "$0")/lib.sh"
need_built
cmd='i=0; while [ $i -lt 400 ]; do ls /proc >/dev/null; cat /proc/uptime >/dev/null; i=$((i+1)); done; echo done'

# kill_at DIR WHEN: records cmd into DIR and SIGKILLs the recording QEMU when WHEN holds:
# "snapshot" (the snapshot file is there but not yet 8 MiB) or a byte count of the stream.
kill_at() {
  local dir=$1 when=$2 pid qemu_pid=""
  "$KVMRR" record -o "$dir" -- "$cmd" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 3000); do
    qemu_pid=$(pgrep -f "kvm-rr-ctl,recording=$dir" | head -n 1 || true)
    [ -n "$qemu_pid" ] && break
    sleep 0.01
  done
  [ -n "$qemu_pid" ] || fail "no recording QEMU for $dir ($when)"
  if [ "$when" = snapshot ]; then
    # The snapshot is written in a fraction of a second once the guest has booted: spin on
    # the shell's own test (no process per look) and kill as soon as the file has bytes.
    while kill -0 "$qemu_pid" 2>/dev/null && [ ! -s "$dir/snapshot" ]; do :; done
  else
    for _ in $(seq 1 6000); do
      [ -s "$dir/snapshot" ] && [ "$(stat -c %s "$dir/events" 2>/dev/null || echo 0)" -gt "$when" ] && break
      kill -0 "$qemu_pid" 2>/dev/null || break
      sleep 0.01
    done
  fi
  kill -KILL "$qemu_pid" 2>/dev/null || fail "the recording QEMU for $dir ended before the kill ($when)"
  run wait "$pid"
}

n=0
for when in snapshot $(shuf -i 500-60000 -n 9 | sort -n); do
  n=$((n + 1))
  rec=$WORK/kill$n
  kill_at "$rec" "$when"
  run "$KVMRR" dump "$rec" >"$WORK/dump$n" 2>"$WORK/dump$n.err"
  [ "$status" = 3 ] || { cat "$WORK/dump$n" "$WORK/dump$n.err"; fail "kill $n ($when): dump exited $status (want 3)"; }
  run "$KVMRR" replay "$rec" >"$WORK/replay$n" 2>"$WORK/replay$n.err"
  if [ "$when" = snapshot ] && ! grep -q '^events: [1-9]' "$WORK/dump$n"; then
    [ "$status" = 3 ] || { cat "$WORK/replay$n" "$WORK/replay$n.err"; fail "kill $n (in the snapshot): replay exited $status (want 3)"; }
    expect_contains "$WORK/replay$n.err" "snapshot"
    echo "kill $n (in the snapshot): refused: $(head -n 1 "$WORK/replay$n.err")"
    continue
  fi
  events=$(sed -n 's/^events: //p' "$WORK/dump$n")
  expect_contains "$WORK/dump$n" "status: incomplete"
  [ "$status" = 0 ] || { tail -n 30 "$WORK/replay$n.err"; cat "$WORK/replay$n"; fail "kill $n ($when bytes): the prefix of $events events did not replay"; }
  expect_contains "$WORK/replay$n" "prefix of an incomplete recording"
  echo "kill $n (after $when bytes): $events events readable, $(sed -n 's/^replay: OK events=\([0-9]*\).*/\1/p' "$WORK/replay$n") replayed"
done
pass "ten recorders killed at their own points: every prefix readable and replayed as far as it goes"
