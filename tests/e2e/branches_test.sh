#!/usr/bin/env bash
# kvm-rr replay --pass branches and kvm-rr branches (issue 26): the branch trace of one known
# system call (getpid, by --entry) holds its kernel functions in call order; the call tree's
# counts are the number of call records; the Chrome JSON follows the trace-event format;
# the whole replay with the pass has zero divergence and one entry record per kernel entry;
# bad windows are refused.
. "$(dirname "$0")/lib.sh"
need_built

rec=$WORK/rec
run "$KVMRR" record --timeout 300 -o "$rec" -- 'sh -c "echo PID=\$\$"; echo hello | head -c 3' >"$WORK/rec.out" 2>&1
[ "$status" = 0 ] || { tail -n 20 "$WORK/rec.out"; fail "kvm-rr record exited $status"; }

# The whole replay under the pass: zero divergence, every kernel entry seen.
"$KVMRR" replay --pass branches "$rec" >"$WORK/all.out" 2>"$WORK/all.err" || { cat "$WORK/all.out" "$WORK/all.err"; fail "replay with the branch pass failed"; }
entries=$(sed -n 's/^replay: OK .*kernel_entries=\([0-9]*\).*/\1/p' "$WORK/all.out")
expect_contains "$WORK/all.out" "branches pass: branches="
"$KVMRR" branches "$rec" >"$WORK/all.txt" || fail "kvm-rr branches of the whole replay exited $?"
seen=$(grep -c ' entry user -> ' "$WORK/all.txt")
[ "$seen" = "$entries" ] || fail "$entries kernel entries replayed, $seen entry records"
pass "whole replay with the branch pass: zero divergence, $seen entry records for $entries kernel entries"

# getpid of the shell that printed its pid, alone: its path through the kernel, in order.
pid=$(tr -d '\r' <"$WORK/rec.out" | sed -n 's/^PID=//p')
[ -n "$pid" ] || { cat "$WORK/rec.out"; fail "the guest printed no pid"; }
"$KVMRR" replay --pass branches --entry getpid --pid "$pid" "$rec" >"$WORK/gp.out" 2>"$WORK/gp.err" || { cat "$WORK/gp.out" "$WORK/gp.err"; fail "replay --entry getpid failed"; }
expect_contains "$WORK/gp.err" "--entry getpid: events "
"$KVMRR" branches "$rec" >"$WORK/gp.txt" || fail "kvm-rr branches of the getpid window exited $?"
order=""
for want in ' entry user -> entry_SYSCALL_64$' ' call entry_SYSCALL_64+0x[0-9a-f]* -> do_syscall_64$' \
            ' -> __x64_sys_getpid$' ' call __x64_sys_getpid+0x[0-9a-f]* -> __task_pid_nr_ns$' ' to_user .* -> user$'; do
  n=$(grep -n -m1 -- "$want" "$WORK/gp.txt" | cut -d: -f1 || true)
  [ -n "$n" ] || { cat "$WORK/gp.txt"; fail "getpid's branch trace has no line matching '$want'"; }
  order="$order $n"
done
[ "$(echo $order | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(echo $order | tr ' ' '\n' | tr '\n' ' ')" ] ||
  { cat "$WORK/gp.txt"; fail "getpid's functions out of order (lines$order)"; }
grep -v " pid=$pid " "$WORK/gp.txt" >&2 && fail "the getpid window has branches of threads other than $pid"
pass "getpid: entry, do_syscall_64, __x64_sys_getpid, __task_pid_nr_ns, return to user, in order, pid $pid only"

# The call tree counts what the log holds; the Chrome JSON is trace-event JSON.
"$KVMRR" branches --calls --chrome "$WORK/gp.json" "$rec" >"$WORK/gp.calls" 2>"$WORK/gp.chrome.err"
calls=$(grep -c ' call ' "$WORK/gp.txt")
tree=$(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }' "$WORK/gp.calls")
[ "$tree" = "$calls" ] || { cat "$WORK/gp.calls"; fail "the call tree counts $tree calls, the log has $calls"; }
expect_contains "$WORK/gp.calls" "$calls calls,"
grep -qE '^ +1t? +[0-9]+ +__x64_sys_getpid$' "$WORK/gp.calls" || { cat "$WORK/gp.calls"; fail "__x64_sys_getpid is not in the call tree"; }
python3 - "$WORK/gp.json" <<'PY' || fail "the Chrome trace JSON does not follow the trace-event format"
import json, sys
j = json.load(open(sys.argv[1]))
ev = j["traceEvents"]
assert isinstance(ev, list) and ev, "no traceEvents"
names = set()
for e in ev:
    assert isinstance(e["name"], str) and e["ph"] in ("X", "M"), e
    assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and e["ts"] >= 0, e
    if e["ph"] == "X":
        assert e["dur"] >= 0, e
        names.add(e["name"])
assert "__x64_sys_getpid" in names and "do_syscall_64" in names, names
PY
pass "call tree: $calls calls as the log has; Chrome trace JSON valid, with getpid's functions"

# Bad windows are named.
run "$KVMRR" replay --pass branches --from 10 --to 5 "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 2 ] && expect_contains "$WORK/bad.err" "--from 10 is not before --to 5"
run "$KVMRR" replay --pass branches --entry nosuchcall "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 2 ] && expect_contains "$WORK/bad.err" "no x86_64 system call is named 'nosuchcall'"
run "$KVMRR" replay --pass branches --entry getpid:99 "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 2 ] && expect_contains "$WORK/bad.err" ", not 99"
run "$KVMRR" replay --from 3 "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 2 ] && expect_contains "$WORK/bad.err" "they go with --pass branches"
rm -rf "$rec/branches"
run "$KVMRR" branches "$rec" >/dev/null 2>"$WORK/bad.err"
[ "$status" = 3 ] && expect_contains "$WORK/bad.err" "run kvm-rr replay --pass branches first"
pass "bad windows and a missing log are refused with their reasons"
