#!/usr/bin/env bash
# kvm-rr syscalls (issue 26): a recording's kernel entries, strace-like. For `cat
# /etc/hostname` (busybox: sendfile) and `head -n 1 /etc/hostname` (read): the openat of the
# file with its path read from the logged user memory and the fd it returned, the copy
# returning the file's length, under the pids the guest printed; without a replay the return
# values say so, with one (run by syscalls itself) they are there. For stress-ng on two
# vCPUs: every kernel entry replay performed appears exactly once. Bad option values are
# named.
. "$(dirname "$0")/lib.sh"
need_built

rec=$WORK/cat
cmd='sh -c '"'"'echo CAT=$$; exec cat /etc/hostname'"'"'; sh -c '"'"'echo HEAD=$$; exec head -n 1 /etc/hostname'"'"
run "$KVMRR" record --timeout 300 -o "$rec" -- "$cmd" >"$WORK/cat.out" 2>"$WORK/cat.err"
[ "$status" = 0 ] || { cat "$WORK/cat.out" "$WORK/cat.err"; fail "kvm-rr record exited $status"; }
tr -d '\r' <"$WORK/cat.out" >"$WORK/cat.txt"
cat_pid=$(sed -n 's/^CAT=\([0-9]*\)$/\1/p' "$WORK/cat.txt")
head_pid=$(sed -n 's/^HEAD=\([0-9]*\)$/\1/p' "$WORK/cat.txt")
host=$(sed -n '/^CAT=/{n;p;q}' "$WORK/cat.txt")
[ -n "$cat_pid" ] && [ -n "$head_pid" ] && [ -n "$host" ] || { cat "$WORK/cat.txt"; fail "the guest did not print its pids and hostname"; }
len=$((${#host} + 1))

# No replay yet: the calls are there, their values are not, and nothing was replayed.
"$KVMRR" syscalls --no-replay "$rec" >"$WORK/noreplay.txt"
expect_contains "$WORK/noreplay.txt" "pid=$cat_pid openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = ? (no replay yet)"
[ ! -e "$rec/returns" ] || fail "syscalls --no-replay replayed"

# With the values: syscalls replays first, then prints them.
run "$KVMRR" syscalls "$rec" >"$WORK/sys.txt" 2>"$WORK/sys.err"
[ "$status" = 0 ] || { cat "$WORK/sys.err"; fail "kvm-rr syscalls exited $status"; }
expect_contains "$WORK/sys.err" "replaying it first"
expect_contains "$WORK/sys.err" "replay: OK"
for pid in $cat_pid $head_pid; do
  grep -E "^#[0-9]+ vcpu=0 pid=$pid openat\(AT_FDCWD, \"/etc/hostname\", O_RDONLY(\|O_LARGEFILE)?\) = 3$" "$WORK/sys.txt" ||
    { grep "pid=$pid " "$WORK/sys.txt" | grep -v page_fault >&2; fail "pid $pid: no openat of /etc/hostname returning 3"; }
done
grep -E "^#[0-9]+ vcpu=0 pid=$cat_pid sendfile\(1, 3, NULL, [0-9]+\) = $len$" "$WORK/sys.txt" ||
  { grep "pid=$cat_pid " "$WORK/sys.txt" | grep -v page_fault >&2; fail "cat: no sendfile returning the file's $len bytes"; }
grep -E "^#[0-9]+ vcpu=0 pid=$head_pid read\(3, 0x[0-9a-f]+, [0-9]+\) = $len$" "$WORK/sys.txt" ||
  { grep "pid=$head_pid " "$WORK/sys.txt" | grep -v page_fault >&2; fail "head: no read(3, ...) returning the file's $len bytes"; }
grep -qE "pid=$cat_pid exit_group\(0\) = \?$" "$WORK/sys.txt" || fail "cat's exit_group is missing"
# The filters, and the second run reads DIR/returns instead of replaying again.
"$KVMRR" syscalls --pid "$cat_pid" --name openat,sendfile "$rec" >"$WORK/filtered.txt" 2>"$WORK/filtered.err"
[ ! -s "$WORK/filtered.err" ] || { cat "$WORK/filtered.err"; fail "a second syscalls run replayed again or complained"; }
[ "$(grep -c . "$WORK/filtered.txt")" -ge 2 ] || fail "--pid/--name left too little"
grep -vE "pid=$cat_pid (openat|sendfile)\(" "$WORK/filtered.txt" && fail "--pid $cat_pid --name openat,sendfile let other lines through"
pass "cat and head: openat, sendfile and read with their paths, fds and lengths, under the right pids"

# Every kernel entry replay performed, once, on two vCPUs.
rec=$WORK/stress
run "$KVMRR" record --smp 2 --timeout 300 -o "$rec" -- 'stress-ng --fork 1 --pipe 1 --sock 1 --timer 1 --timeout 2 --quiet' \
  >"$WORK/stress.out" 2>&1
[ "$status" = 0 ] || { tail -n 20 "$WORK/stress.out"; fail "kvm-rr record --smp 2 of stress-ng exited $status"; }
"$KVMRR" replay "$rec" >"$WORK/stress.replay" 2>"$WORK/stress.replay.err" || { cat "$WORK/stress.replay"; fail "the stress-ng recording did not replay"; }
entries=$(sed -n 's/^replay: OK .*kernel_entries=\([0-9]*\).*/\1/p' "$WORK/stress.replay")
"$KVMRR" syscalls --json "$rec" >"$WORK/stress.json"
lines=$(grep -c . "$WORK/stress.json")
unique=$(sed -E 's/^\{"args".*"index":([0-9]+),.*/\1/' "$WORK/stress.json" | sort -u | grep -c .)
[ "$lines" = "$entries" ] && [ "$unique" = "$entries" ] ||
  fail "stress-ng: $entries kernel entries replayed, $lines lines, $unique distinct indexes"
vcpus=$(grep -o '"vcpu":[0-9]*' "$WORK/stress.json" | sort -u | grep -c .)
[ "$vcpus" = 2 ] || fail "stress-ng --smp 2: entries of $vcpus vCPU(s)"
unknown=$(grep -c '"result":"?"' "$WORK/stress.json" || true)
pass "stress-ng --smp 2: $entries kernel entries, each once ($unknown system calls with no return: exits, the end)"

# Bad values are named.
run "$KVMRR" syscalls --name nosuchcall "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 2 ] && expect_contains "$WORK/bad.err" "--name nosuchcall"
run "$KVMRR" syscalls --pid abc "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 2 ] && expect_contains "$WORK/bad.err" "--pid abc: not a pid"
run "$KVMRR" syscalls "$WORK/nonexistent" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 3 ] || fail "syscalls of a missing recording exited $status (want 3)"
pass "bad --name, --pid and recording are refused with their names"
