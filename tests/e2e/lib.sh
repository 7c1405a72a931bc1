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

need_built() {
  local missing=""
  for f in "$KVMRR" "$BUILD/qemu/bin/qemu-system-x86_64" "$BUILD/kernel/bzImage" "$BUILD/guest/rootfs.ext4"; do
    [ -e "$f" ] || missing="$missing $f"
  done
  [ -z "$missing" ] || fail "not built:$missing (run make all)"
}
