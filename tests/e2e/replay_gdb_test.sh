#!/usr/bin/env bash
# kvm-rr replay --gdb: the replaying kernel waits for gdb; a breakpoint on a kernel function
# stops the replay there with the registers readable, and the replay, continued, still
# ends with every event replayed.
. "$(dirname "$0")/lib.sh"
need_built
command -v gdb >/dev/null || fail "gdb is not installed (make deps installs it)"

rec=$WORK/pipeline
run "$KVMRR" record --timeout 300 -o "$rec" -- "$(workload pipeline)" >"$WORK/rec.out" 2>&1
[ "$status" = 0 ] || { cat "$WORK/rec.out"; fail "kvm-rr record exited $status"; }
events=$("$KVMRR" dump "$rec" | sed -n 's/^events: //p')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"$KVMRR" replay --timeout 300 --gdb "$port" "$rec" >"$WORK/replay.out" 2>"$WORK/replay.err" &
replay=$!
for _ in $(seq 1 100); do
  grep -q "waits for a debugger" "$WORK/replay.err" && break
  sleep 0.1
done
expect_contains "$WORK/replay.err" "target remote :$port"
sleep 1
timeout 300 gdb -q -batch "$BUILD/kernel/vmlinux" \
  -ex "target remote :$port" \
  -ex "break kvmrr_log_user_entry" \
  -ex "continue" \
  -ex 'printf "STOPPED rip=%lx\n", $pc' \
  -ex "info symbol \$pc" \
  -ex "delete" \
  -ex "detach" >"$WORK/gdb.out" 2>&1 || true
run wait "$replay"
cat "$WORK/replay.out"
grep -q "^STOPPED rip=ffffffff" "$WORK/gdb.out" || { cat "$WORK/gdb.out"; fail "gdb did not stop at a kernel address"; }
expect_contains "$WORK/gdb.out" "kvmrr_log_user_entry in section .text"
[ "$status" = 0 ] || { tail -n 30 "$WORK/replay.err"; fail "the replay after gdb detached exited $status"; }
grep -qE "^replay: OK events=$events " "$WORK/replay.out" || fail "the replay did not replay all $events events"
pass "replay --gdb: gdb stopped the replayed kernel at kvmrr_log_user_entry; all $events events replayed after it detached"
