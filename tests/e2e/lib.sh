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
