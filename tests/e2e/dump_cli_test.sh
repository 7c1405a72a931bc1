#!/usr/bin/env bash
# `kvm-rr dump` as a user runs it: bad recordings get a non-zero exit and an error naming the
# file. (The format library's own tests cover streams in depth.)
. "$(dirname "$0")/lib.sh"
[ -x "$KVMRR" ] || fail "$KVMRR not built"

rec=$WORK/rec
mkdir -p "$rec"
echo '{"format_version": 1, "kvmrr_version": ' >"$rec/meta.json"
: >"$rec/snapshot"; : >"$rec/events"
run "$KVMRR" dump "$rec" >"$WORK/out" 2>"$WORK/err"
[ "$status" != 0 ] || fail "dump of a recording with a corrupt meta.json exited 0"
expect_contains "$WORK/err" "$rec/meta.json"
pass "corrupt meta.json: exit $status, $(cat "$WORK/err")"

echo '{"format_version": 1000}' >"$rec/meta.json"
"$KVMRR" dump "$rec" >/dev/null 2>"$WORK/err" && fail "foreign version accepted"
expect_contains "$WORK/err" "version 1000"
pass "foreign format version refused"

"$KVMRR" dump --help >"$WORK/help"
expect_contains "$WORK/help" "usage: kvm-rr dump"
"$KVMRR" run --help >"$WORK/help"
expect_contains "$WORK/help" "usage: kvm-rr run"
"$KVMRR" --help >"$WORK/help"
expect_contains "$WORK/help" "dump"
pass "--help for each command"

# A --vmlinux that names no file is a usage error in every command that takes one.
for cmd in dump check replay; do
  run "$KVMRR" "$cmd" --vmlinux "$WORK/no-such-vmlinux" "$rec" >"$WORK/out" 2>"$WORK/err"
  [ "$status" = 2 ] || { cat "$WORK/err"; fail "$cmd --vmlinux of a missing file: exit $status, not 2"; }
  expect_contains "$WORK/err" "kvm-rr $cmd: --vmlinux $WORK/no-such-vmlinux: no such file"
done
pass "dump, check and replay refuse a missing --vmlinux alike (exit 2)"
