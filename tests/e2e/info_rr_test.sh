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
