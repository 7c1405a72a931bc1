#!/usr/bin/env bash
# Memory digests (issue 31): the recorder digests the pages the kernel owns at each
# checkpoint and when the guest stops; replay checks them. A recording with checkpoints
# replays with every digest matched; a change to a logged input that only reaches memory is
# reported as a memory divergence naming the page and the events before it; a damaged
# digest table and bad --checksum values are refused; a short mutation campaign over the
# recording detects most of what it changes.
. "$(dirname "$0")/lib.sh"
need_built

for bad in 0 -5 sometimes 1e3; do
  run "$KVMRR" record --checksum "$bad" -o "$WORK/bad" -- true >"$WORK/bad.out" 2>&1
  [ "$status" = 2 ] || { cat "$WORK/bad.out"; fail "--checksum $bad: exit $status, not 2"; }
  expect_contains "$WORK/bad.out" "--checksum $bad: expected end, checkpoints, off or a number of events"
done
[ ! -e "$WORK/bad" ] || fail "a refused --checksum left a recording behind"
pass "bad --checksum values refused before the guest boots"

rec=$WORK/ckpt
cmd='kvm-rr-checkpoint 1; seq 1 3000 > /tmp/f; sort -rn /tmp/f | md5sum; kvm-rr-checkpoint 2; echo some data | tee /tmp/g; cat /tmp/g /tmp/f | wc -c; kvm-rr-checkpoint 3'
run "$KVMRR" record --checksum checkpoints --timeout 300 -o "$rec" -- "$cmd" >"$WORK/ckpt.out" 2>&1
[ "$status" = 0 ] || { cat "$WORK/ckpt.out"; fail "record --checksum checkpoints exited $status"; }
python3 - "$rec/meta.json" <<'PY' || fail "meta.json's memory_digests is not what the recording did"
import json, sys
m = json.load(open(sys.argv[1]))
d = m["memory_digests"]
assert d["policy"] == "checkpoints" and d["taken"] == 4 and d["end"] == "taken", d
assert d["pages"] > 1000 and d["seconds"] > 0, d
assert "init_on_free=1" in " ".join(m["command_line"]), m["command_line"]
PY
"$KVMRR" dump --events "$rec" | grep ' mem_digest ' >"$WORK/digests.txt"
[ "$(grep -c 'point=0x1 .* sync=0x' "$WORK/digests.txt")" = 3 ] || { cat "$WORK/digests.txt"; fail "not three checkpoint digests at sync points"; }
[ "$(grep -c 'point=0x0 .* sync=0x' "$WORK/digests.txt")" = 1 ] || { cat "$WORK/digests.txt"; fail "no end digest at a sync point"; }
replay_whole ckpt "$rec"
expect_contains "$WORK/ckpt.replay" "memory_digests=4"
pass "three checkpoints and the end: four digests taken at sync points, all matched in replay"

# The input that reached only memory: the campaign finds mutations only a digest caught,
# and one of them replays to a report that names the page and what replay has there.
run python3 "$BUILD/../tools/mutation-campaign" --per-type 4 --seed 7 --json "$WORK/campaign.json" "$rec" \
  >"$WORK/campaign.txt" 2>"$WORK/campaign.err"
[ "$status" = 0 ] || { cat "$WORK/campaign.err"; fail "mutation-campaign exited $status"; }
cat "$WORK/campaign.txt"
python3 - "$WORK/campaign.json" <<'PY' || fail "the campaign's outcomes are not what digests promise"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) >= 25, len(r)
assert not [x for x in r if x["outcome"] == "error"], [x for x in r if x["outcome"] == "error"]
by_digest = [x for x in r if x["outcome"] == "digest"]
assert by_digest, "no mutation was caught by a memory digest"
count = lambda *o: sum(1 for x in r if x["outcome"] in o)
detected, missed = count("at-event", "later", "digest"), count("missed")
print(f"{detected} of {len(r)} detected, {len(by_digest)} by a digest; {missed} reached kernel memory unnoticed, "
      f"{count('user-only')} only user memory, {count('dead')} nothing")
assert count("at-event", "later", "digest", "missed", "user-only", "dead") == len(r), r
# Digests must catch some that register and ring checks miss; of the changes that reached
# kernel memory, replay catches at least 90% (96% and 100% of 32 when this was built: the
# misses are in kernel stacks, per-CPU areas and pmem, docs/memory-digests.md).
assert len(by_digest) >= 2 and detected >= 0.9 * (detected + missed), (detected, missed, len(by_digest))
assert detected >= 0.5 * len(r), (detected, len(r))
x = by_digest[0]
open(sys.argv[1] + ".first", "w").write(f"{x['event']} {x['mutation']}\n")
PY
read -r event _ <"$WORK/campaign.json.first"
args=$(python3 - "$WORK/campaign.json" <<'PY'
import json, sys
x = [x for x in json.load(open(sys.argv[1])) if x["outcome"] == "digest"][0]
m = x["mutation"]
if m.startswith("data byte"):
    b, v = m[len("data byte "):].split(" := ")
    print(f"--data-byte {b} {v}")
else:
    name, rest = m.split(" ", 1)
    idx = {"value": 0}[name] if x["type"] in ("rdtsc", "rdseed") else 2
    print(f"--arg {idx} {rest.split(' -> ')[1]}")
PY
)
# shellcheck disable=SC2086
"$BUILD/cmake/tests/kvmrr_mutate_recording" "$rec" "$WORK/mutated" --event "$event" $args
run "$KVMRR" replay "$WORK/mutated" >"$WORK/mutated.out" 2>"$WORK/mutated.err"
[ "$status" = 1 ] || { cat "$WORK/mutated.out" "$WORK/mutated.err"; fail "replay of the mutated recording exited $status, not 1"; }
expect_contains "$WORK/mutated.out" "kernel memory differs from the recording at memory digest #"
grep -qE '^    page 0x[0-9a-f]+ \((slab|page table|kernel data|page cache|kernel allocation), ' "$WORK/mutated.err" ||
  { cat "$WORK/mutated.err"; fail "the report does not name the differing page"; }
expect_contains "$WORK/mutated.err" "      replayed: "
expect_contains "$WORK/mutated.err" "an input that reached only memory came between"
python3 - "$WORK/mutated/replay.json" <<'PY' || fail "replay.json does not say diverged by a digest"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "diverged" and "memory differs" in j["divergence"]["what"], j
PY
pass "event $event changed ($args): replay reports the memory digest that differs, with the page"

# Every N events: each digest hashes only the pages written since the one before (QEMU's
# dirty log), the end's every page; replay checks them all, and two replays with
# --state-log write the same file (the campaign's yardstick for "dead").
run "$KVMRR" record --checksum 100 --timeout 300 -o "$WORK/every" -- 'seq 1 5000 | sort -rn | md5sum; ls -R /etc | wc -l' \
  >"$WORK/every.out" 2>&1
[ "$status" = 0 ] || { cat "$WORK/every.out"; fail "record --checksum 100 exited $status"; }
python3 - "$WORK/every/meta.json" <<'PY' || fail "periodic digests hashed every page each time"
import json, sys
d = json.load(open(sys.argv[1]))["memory_digests"]
print(f"{d['taken']} digests of about {d['pages']} pages: {d['hashed']} pages hashed")
# Periodic ones come at the first device read or vCPU switch after N events: a few here.
assert d["taken"] >= 3 and d["end"] == "taken", d
# The first and the end digest hash every page (about 2 x pages), the rest only what was
# written: well below hashing every page each time (taken x pages).
assert d["pages"] < d["hashed"] < 0.8 * d["taken"] * d["pages"], d
PY
replay_whole every "$WORK/every"
"$KVMRR" replay --state-log "$WORK/state1" "$WORK/every" >/dev/null 2>&1 || fail "replay --state-log failed"
"$KVMRR" replay --state-log "$WORK/state2" "$WORK/every" >/dev/null 2>&1 || fail "replay --state-log failed"
[ "$(grep -c '^point ' "$WORK/state1")" -ge 3 ] || fail "the state log has not a point per digest"
cmp -s "$WORK/state1" "$WORK/state2" || fail "two replays of one recording wrote different state logs"
run "$KVMRR" replay --state-log /nonexistent-dir/state "$WORK/every" >"$WORK/badlog.out" 2>&1
[ "$status" = 2 ] || { cat "$WORK/badlog.out"; fail "--state-log into a missing directory: exit $status, not 2"; }
expect_contains "$WORK/badlog.out" "--state-log /nonexistent-dir/state: cannot create"
pass "periodic digests hash what was written since the last, all matched; two replays' state logs are equal"

# Rules 4: per-CPU data and the user registers on the kernel stacks of tasks no CPU runs are
# covered (the state log's first point: every page with its kind).
awk '/^point /{n++} n == 1 && NF == 3 {c[$2]++} END {exit !(c["6"] > 0 && c["8"] > 0)}' "$WORK/state1" ||
  fail "the first digest covered no per-CPU data (kind 6) or no user registers (kind 8)"
pass "per-CPU data and the user registers of tasks no CPU runs are covered"

# Persistent memory: covered (what mkfs, the file system and the DAX write path store there)
# until user code maps a DAX file shared and writable; from then on left out (the kernel says
# so), and replay matches every digest before and after.
dax='mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mkdir -p /mnt/pmem && mount -o dax /dev/pmem0 /mnt/pmem &&
dd if=/dev/urandom of=/mnt/pmem/a bs=4k count=16 2>/dev/null && kvm-rr-checkpoint 1 &&
stress-ng --mmap 1 --mmap-file --temp-path /mnt/pmem --mmap-bytes 1M --timeout 1 --quiet; rm -f /mnt/pmem/a; sync; kvm-rr-checkpoint 2'
run "$KVMRR" record --checksum checkpoints --timeout 300 -o "$WORK/dax" -- "$dax" >"$WORK/dax.out" 2>&1
[ "$status" = 0 ] || { cat "$WORK/dax.out"; fail "record of the DAX mapping workload exited $status"; }
run "$KVMRR" replay --state-log "$WORK/dax.state" "$WORK/dax" >"$WORK/dax.replay" 2>&1
[ "$status" = 0 ] || { tail -n 30 "$WORK/dax.replay"; fail "replay of the DAX mapping workload exited $status"; }
expect_contains "$WORK/dax.replay" "replay: OK"
# Kind 7: persistent memory; 0x1d: persistent memory user code may write.
awk '/^point /{n++} NF == 3 && $2 == "7" {seen7 = n} NF == 3 && $2 == "1d" && !first1d {first1d = n}
     END {exit !(seen7 >= 1 && first1d > seen7)}' "$WORK/dax.state" ||
  fail "persistent memory was not covered before the DAX mapping and left out after it"
pass "persistent memory covered until user code maps a DAX file shared and writable, then left out"

# A damaged digest table is not taken for a divergence of the kernel.
first=$(sed -n 's/^#\([0-9]*\) mem_digest .*/\1/p' <("$KVMRR" dump --events "$rec") | head -n 1)
"$BUILD/cmake/tests/kvmrr_mutate_recording" "$rec" "$WORK/damaged" --event "$first" --arg 3 0x1234
run "$KVMRR" replay "$WORK/damaged" >"$WORK/damaged.out" 2>&1
[ "$status" = 1 ] || { cat "$WORK/damaged.out"; fail "replay of a damaged digest exited $status"; }
expect_contains "$WORK/damaged.out" "memory digest #1 does not add up: its table of page digests is damaged"
pass "a damaged digest table is reported as such"

# --checksum off: no digests and no init_on_free.
run "$KVMRR" record --checksum off --timeout 300 -o "$WORK/off" -- 'kvm-rr-checkpoint 1; true' >"$WORK/off.out" 2>&1
[ "$status" = 0 ] || { cat "$WORK/off.out"; fail "record --checksum off exited $status"; }
python3 - "$WORK/off/meta.json" <<'PY' || fail "--checksum off still took digests"
import json, sys
m = json.load(open(sys.argv[1]))
assert "memory_digests" not in m and "init_on_free" not in " ".join(m["command_line"]), m
PY
pass "--checksum off: no digests"
