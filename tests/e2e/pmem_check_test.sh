#!/usr/bin/env bash
# pmem_check_test.sh shipped|mutant: the pmem pass end to end, validated by mutation. The
# ACE-style workload (guest/kvm-rr-pmem-ace: mkdir, create, unaligned overwrite, rename,
# link, unlink, each made durable) is recorded under TCG with kvm-rr's kernel (shipped) or
# with the test-only mutant that drops the flush of an unaligned DAX write's last cache line
# (mutant: tests/pmem/mutations/, `make kernel-mutant`). `kvm-rr pmem-check` must find no
# failing crash state for the first, and for the second failures that name the dropped store.
. "$(dirname "$0")/lib.sh"
need_built
which=${1:?usage: $0 shipped|mutant}
MUTANT=$BUILD/kernel-mutant

ACE='mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mkdir -p /mnt/pmem && mount -o dax /dev/pmem0 /mnt/pmem && kvm-rr-pmem-ace /mnt/pmem'
# Bounded so the test stays a few minutes: every single in-flight line, two larger subsets
# per fence, at most this many states (a seeded sample).
CHECK=(-k 1 --samples 2 --max-states 120 --batch 60)

if [ "$which" = shipped ]; then
# --- the kernel as shipped: no failure ----------------------------------------------------
"$KVMRR" record --pmem 16 -o "$WORK/ok" -- "$ACE" >"$WORK/ok.rec" 2>&1 || { cat "$WORK/ok.rec" >&2; fail "recording the ACE workload failed"; }
expect_contains "$WORK/ok.rec" "ace: 6 unlink ok"
run "$KVMRR" replay --pass pmem "$WORK/ok" >"$WORK/ok.pass" 2>&1
[ "$status" = 0 ] || { cat "$WORK/ok.pass" >&2; fail "replay with the pmem pass exited $status"; }
expect_contains "$WORK/ok.pass" "replay: OK"
# The pass saw flushes (unaligned DAX writes), fences, syscalls and the workload's 7
# checkpoints.
line=$(grep '^pmem pass:' "$WORK/ok.pass")
for field in stores flushes fences syscalls; do
  n=$(sed -n "s/.* $field=\([0-9]*\).*/\1/p" <<<"$line")
  [ "${n:-0}" -gt 0 ] || fail "pmem pass logged no $field: $line"
done
grep -q "checkpoints=7 " <<<"$line" || fail "expected the workload's 7 checkpoints: $line"
pass "pmem pass: $line"

run "$KVMRR" pmem-check "${CHECK[@]}" "$WORK/ok" >"$WORK/ok.check" 2>"$WORK/ok.check.err"
summary=$(grep '^pmem-check: states=' "$WORK/ok.check" || true)
[ "$status" = 0 ] || { cat "$WORK/ok.check" "$WORK/ok.check.err" >&2; fail "pmem-check on the shipped kernel exited $status ($summary)"; }
states=$(sed -n 's/^pmem-check: states=\([0-9]*\) failed=0$/\1/p' <<<"$summary")
[ "${states:-0}" -ge 20 ] || fail "expected at least 20 crash states checked, none failed: '$summary'"
python3 - "$WORK/ok/pmem/report.json" <<'PY' || fail "report.json of the shipped kernel"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["failed"] == 0 and r["states"] > 0 and r["failures"] == [], r
assert r["images_checked"] >= 1 and r["states_per_second"] > 0, r
PY
pass "shipped kernel: $summary"

# Bad input: a pmem log cut short (the pass was killed) is refused with the reason, and so is
# a recording whose guest had no pmem; neither boots a checker guest.
cp -r "$WORK/ok" "$WORK/cut"
truncate -s -100 "$WORK/cut/pmem/pmem.log"
run "$KVMRR" pmem-check "$WORK/cut" >"$WORK/cut.out" 2>&1
[ "$status" = 3 ] || { cat "$WORK/cut.out" >&2; fail "pmem-check on a cut-short log exited $status, expected 3"; }
expect_contains "$WORK/cut.out" "cut short"
"$KVMRR" record --pmem 0 -o "$WORK/nopmem" -- true >/dev/null 2>&1 || fail "recording without pmem failed"
run "$KVMRR" pmem-check "$WORK/nopmem" >"$WORK/nopmem.out" 2>&1
[ "$status" = 3 ] || { cat "$WORK/nopmem.out" >&2; fail "pmem-check without pmem exited $status, expected 3"; }
expect_contains "$WORK/nopmem.out" "has no pmem region"
pass "a cut-short pmem log and a guest without pmem are refused with the reason"

exit 0
fi

# --- the mutant: failures that name the dropped store --------------------------------------
[ "$which" = mutant ] || fail "usage: $0 shipped|mutant"
[ -e "$MUTANT/bzImage" ] && [ -e "$MUTANT/vmlinux" ] || fail "not built: $MUTANT (run make kernel-mutant)"
KVMRR_KERNEL=$MUTANT/bzImage KVMRR_VMLINUX=$MUTANT/vmlinux \
  "$KVMRR" record --pmem 16 -o "$WORK/mut" -- "$ACE" >"$WORK/mut.rec" 2>&1 || { cat "$WORK/mut.rec" >&2; fail "recording on the mutant kernel failed"; }
run env KVMRR_VMLINUX="$MUTANT/vmlinux" "$KVMRR" pmem-check "${CHECK[@]}" "$WORK/mut" >"$WORK/mut.check" 2>"$WORK/mut.check.err"
summary=$(grep '^pmem-check: states=' "$WORK/mut.check" || true)
[ "$status" = 1 ] || { cat "$WORK/mut.check" "$WORK/mut.check.err" >&2; fail "pmem-check on the mutant exited $status, expected 1 ($summary)"; }
failed=$(sed -n 's/^pmem-check: states=[0-9]* failed=\([0-9]*\)$/\1/p' <<<"$summary")
[ "${failed:-0}" -gt 0 ] || fail "mutant: expected failing states: '$summary'"
# The report names a never-flushed line stored by the kernel's user-copy during pwrite64,
# and shows what the file lost.
expect_contains "$WORK/mut.check" "never flushed"
expect_contains "$WORK/mut.check" "pwrite64"
expect_contains "$WORK/mut.check" "content /A/foo"
python3 - "$WORK/mut/pmem/report.json" <<'PY' || fail "report.json of the mutant"
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["failed"] > 0 and len(r["failures"]) == r["failed"], r["failed"]
f = r["failures"][0]
assert f["dropped"] and f["diff"], f
assert any(not d["flushed"] and any(s["syscall"].startswith("pwrite64") for s in d["stores"]) for d in f["dropped"]), f["dropped"]
assert os.path.getsize(f["image"]) == 16 << 20, f["image"]
PY
pass "mutant kernel: $summary"
