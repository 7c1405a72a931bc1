# Helpers for kvm-rr's end-to-end tests. Sourced. Each test is a script that exits non-zero
# with a message saying what was expected and what happened.
set -euo pipefail
BUILD=${KVMRR_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
KVMRR=$BUILD/bin/kvm-rr
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-e2e.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# run CMD...: runs CMD without stopping the test when it fails; its exit status is in $status.
run() {
  set +e
  "$@"
  status=$?
  set -e
}
pass() { echo "ok: $*"; }

# expect_contains FILE TEXT: FILE has a line containing TEXT.
expect_contains() {
  grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "expected \"$2\" in $1"; }
}

# record_then_kill DIR BYTES CMD: records CMD into DIR in the background and kills the
# recording QEMU with SIGKILL (a crashed recorder) once the event stream has BYTES bytes.
# $status is the front end's exit status.
record_then_kill() {
  local dir=$1 bytes=$2 cmd=$3 pid qemu_pid
  "$KVMRR" record -o "$dir" -- "$cmd" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    [ -s "$dir/snapshot" ] && [ "$(stat -c %s "$dir/events" 2>/dev/null || echo 0)" -gt "$bytes" ] && break
    sleep 0.1
  done
  qemu_pid=$(pgrep -f "kvm-rr-ctl,recording=$dir" | head -n 1 || true)
  [ -n "$qemu_pid" ] || fail "no recording QEMU for $dir"
  kill -KILL "$qemu_pid"
  run wait "$pid"
}

need_built() {
  local missing=""
  for f in "$KVMRR" "$BUILD/qemu/bin/qemu-system-x86_64" "$BUILD/kernel/bzImage" "$BUILD/guest/rootfs.ext4"; do
    [ -e "$f" ] || missing="$missing $f"
  done
  [ -z "$missing" ] || fail "not built:$missing (run make all)"
}

# workload NAME: the guest command of one of the acceptance workloads (the four of the
# record/replay issue, and io_uring with reads of other processes' memory).
workload() {
  case $1 in
    pipeline) echo 'cd /tmp && seq 1 20000 > n && sort -rn n | head -n 3 > top && cat top n | md5sum && wc -l n top' ;;
    fio) echo 'fio --name=rw --filename=/root/fio.dat --size=16M --rw=randrw --bs=4k --direct=1 --ioengine=psync --time_based --runtime=5 --output-format=terse >/dev/null' ;;
    stress) echo 'stress-ng --fork 1 --exec 1 --sigq 1 --mmap 1 --futex 1 --pipe 1 --timer 1 --epoll 1 --sock 1 --poll 1 --timeout 3 --quiet' ;;
    io_uring) echo 'fio --name=u --filename=/root/u.dat --size=8M --rw=randrw --bs=4k --direct=1 --ioengine=io_uring --iodepth=4 --time_based --runtime=2 --output-format=terse >/dev/null && cat /proc/1/cmdline /proc/self/environ >/dev/null && ps >/dev/null' ;;
    pmem) echo 'mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mkdir -p /mnt/pmem && mount -o dax /dev/pmem0 /mnt/pmem && dd if=/dev/urandom of=/mnt/pmem/f bs=4k count=64 conv=fsync 2>/dev/null && echo tail >> /mnt/pmem/f && sync /mnt/pmem/f' ;;
    *) fail "no workload $1" ;;
  esac
}

# The multi-core acceptance workload ($SMP_WORKLOAD), shared with bench/soak.sh.
. "$(dirname "${BASH_SOURCE[0]}")/smp_workload.sh"

# check_smp_recording NAME ACCEL SMP OUT REC: REC, a recording of $SMP_WORKLOAD made under
# ACCEL with SMP vCPUs (its output in OUT), is complete, says so in meta.json, holds kernel
# entries from every vCPU and the vCPU switches replay follows (events in $WORK/NAME.events),
# and passes `kvm-rr check` (interrupts and switches at sync points).
check_smp_recording() {
  local name=$1 accel=$2 smp=$3 out=$4 rec=$5 v
  expect_contains "$out" "SMP-DONE $smp"
  expect_contains "$out" "PINGPONG pairs=2 rounds=2000 futex_handovers=8000 pipe_handovers=8000 ok"
  python3 - "$rec/meta.json" "$accel" "$smp" <<'PY' || fail "$name: meta.json"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["accel"] == sys.argv[2] and m["smp"] == int(sys.argv[3]) and m["state"] == "complete", m
PY
  "$KVMRR" dump --events "$rec" >"$WORK/$name.events" || fail "$name: dump of the recording"
  for v in $(seq 0 $((smp - 1))); do
    grep -qE "^#[0-9]+ syscall vcpu=$v " "$WORK/$name.events" || fail "$name: no syscall entry from vCPU $v"
  done
  grep -q " deschedule vcpu=" "$WORK/$name.events" || fail "$name: no deschedule logged"
  grep -q " resume vcpu=" "$WORK/$name.events" || fail "$name: no resume logged"
  run "$KVMRR" check "$rec" >"$WORK/$name.check" 2>&1
  [ "$status" = 0 ] || { cat "$WORK/$name.check" >&2; fail "$name: kvm-rr check exited $status"; }
}

# keep_diverged NAME DIR: a recording that diverged is the only evidence of a rare bug; it
# is kept (newest 5) under $KVMRR_CACHE/divergences/ for a post-mortem with kvm-rr replay.
keep_diverged() {
  local dest=${KVMRR_CACHE:-$HOME/.cache/kvm-rr}/divergences/$1-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$(dirname "$dest")" && cp -r "$2" "$dest" && echo "kept the diverged recording in $dest" >&2
  ls -dt "$(dirname "$dest")"/*-20* 2>/dev/null | tail -n +6 | xargs -r rm -rf
}

# replay_whole NAME DIR: replays recording DIR on this host; every event must replay with
# zero divergence, said in one summary line and in replay.json.
replay_whole() {
  local name=$1 rec=$2 events
  events=$("$KVMRR" dump "$rec" | sed -n 's/^events: //p')
  run "$KVMRR" replay --timeout 600 "$rec" >"$WORK/$name.replay" 2>"$WORK/$name.rerr"
  cat "$WORK/$name.replay"
  [ "$status" = 0 ] || { tail -n 60 "$WORK/$name.rerr"; keep_diverged "$name" "$rec"; fail "$name: replay exited $status"; }
  [ "$(grep -c '^replay: ' "$WORK/$name.replay")" = 1 ] || fail "$name: not exactly one summary line"
  grep -qE "^replay: OK events=$events kernel_entries=[1-9][0-9]* seconds=[0-9.]+( memory_digests=[0-9]+)?$" "$WORK/$name.replay" ||
    fail "$name: the summary does not say all $events events replayed"
  python3 - "$rec/replay.json" "$events" <<'PY' || fail "$name: replay.json does not say ok"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "ok" and j["events_replayed"] == int(sys.argv[2]) == j["events_total"], j
PY
  pass "$name: $events events replayed with zero divergence"
}

# hmp CMD...: each command over the QEMU monitor socket $mon, its answer printed.
hmp() {
  python3 - "$mon" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def until_prompt():
    out = b""
    while not out.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")
until_prompt()
for cmd in sys.argv[2:]:
    s.sendall(cmd.encode() + b"\n")
    print(until_prompt().replace("(qemu) ", ""), flush=True)
PY
}
