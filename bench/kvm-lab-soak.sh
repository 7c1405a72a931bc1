#!/usr/bin/env bash
# bench/kvm-lab-soak.sh [SMP:N[:WORKLOAD] ...]: determinism under KVM, through tools/kvm-lab
# (default 4:20 8:10: twenty --smp 4 and ten --smp 8 recordings, issue 22's acceptance). In
# one L1 boot, N recordings per item, made with --accel kvm one after another, of the e2e
# multi-core workload (tests/e2e/smp_workload.sh) or of one of the e2e acceptance workloads
# (WORKLOAD: pipeline, fio, stress, pmem; 1:20:pmem is how the end-digest flake of session 21
# was found); back on this host each must have
# completed, pass `kvm-rr check` and replay to its last event under TCG. Recordings that pass
# are deleted; every other one is kept with its output and replay report under
# $KVMRR_CACHE/kvm-lab-soak/RUN/. Appends the run's table to results/kvm-lab-soak.md and exits
# 1 when any recording failed. L2's vCPUs time-share L1's one vCPU (tools/kvm-lab says why).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$here/..
. "$here/lib.sh"
. "$ROOT/tests/e2e/smp_workload.sh"
PLAN=${*:-4:20 8:10}
# SOAK_CHECKSUM=N: the recordings take a memory digest every N events (record --checksum N),
# which replay checks; by default only the end's.
CHECKSUM=${SOAK_CHECKSUM:+--checksum $SOAK_CHECKSUM}
KVMRR=$ROOT/build/bin/kvm-rr
CACHE=${KVMRR_CACHE:-$HOME/.cache/kvm-rr}
run_id=$(date +%Y%m%d-%H%M%S)
keep=$CACHE/kvm-lab-soak/$run_id
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-kvm-soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$here/results/kvm-lab-soak.md
total=0
# item_smp ITEM / item_n ITEM / item_workload ITEM: the parts of SMP:N[:WORKLOAD].
item_smp() { echo "${1%%:*}"; }
item_n() { local r=${1#*:}; echo "${r%%:*}"; }
item_workload() { local r=${1#*:}; [ "$r" = "${r#*:}" ] && echo smp || echo "${r#*:}"; }
# The guest command of WORKLOAD: the acceptance workloads come from tests/e2e/lib.sh.
workload_cmd() {
  if [ "$1" = smp ]; then printf '%s\n' "$SMP_WORKLOAD"; return; fi
  bash -c '. "$1/tests/e2e/lib.sh" && workload "$2"' _ "$ROOT" "$1" 2>/dev/null
}
for p in $PLAN; do
  case $p in
    [1-8]:[1-9]* | [1-8]:[1-9]*:*) total=$((total + $(item_n "$p"))) ;;
    *) echo "bench/kvm-lab-soak.sh: '$p' is not SMP:N[:WORKLOAD] (SMP 1 to 8)" >&2; exit 2 ;;
  esac
  w=$(item_workload "$p")
  case $w in
    smp | pipeline | fio | stress | pmem) ;;
    *) echo "bench/kvm-lab-soak.sh: '$w' is not a workload (smp, pipeline, fio, stress, pmem)" >&2; exit 2 ;;
  esac
done

# L1's script: each recording into /out/smpS-I, its exit status and console beside it.
{
  for w in smp pipeline fio stress pmem; do
    printf 'W_%s=$(cat <<%s\n%s\n%s\n)\n' "$w" "'KVMRR_W'" "$(workload_cmd "$w")" KVMRR_W
  done
  for p in $PLAN; do
    smp=$(item_smp "$p") n=$(item_n "$p") w=$(item_workload "$p")
    for i in $(seq 1 "$n"); do
      echo "echo 'soak: $w, --smp $smp, $i of $n' >&2"
      echo "kvm-rr record --accel kvm --smp $smp --timeout 300 $CHECKSUM -o /out/$w$smp-$i -- \"\$W_$w\" >/out/$w$smp-$i.out 2>&1; echo \$? >/out/$w$smp-$i.status"
    done
  done
} >"$work/l1.sh"

echo "kvm-lab soak: $PLAN (SMP:recordings) under KVM in the lab, $total recordings" >&2
"$ROOT/tools/kvm-lab" run --cpus 1 --timeout $((300 * total + 600)) --out "$work/out" -- "$(cat "$work/l1.sh")"

ok=0 failed=0
rows=""
for p in $PLAN; do
  smp=$(item_smp "$p") n=$(item_n "$p") w=$(item_workload "$p")
  for i in $(seq 1 "$n"); do
    rec=$work/out/$w$smp-$i result=ok what="" events=0 secs=""
    # The multi-core workload says it finished; the others' status is the command's.
    if [ "$(cat "$rec.status" 2>/dev/null)" != 0 ] ||
      { [ "$w" = smp ] && ! grep -q "SMP-DONE $smp" "$rec.out" 2>/dev/null; }; then
      result=record what=$(grep -v '^\s*$' "$rec.out" 2>/dev/null | tail -n 1 || true)
    fi
    events=$("$KVMRR" dump "$rec" 2>/dev/null | sed -n 's/^events: //p' || true)
    secs=$("$KVMRR" dump "$rec" 2>/dev/null | sed -n 's/^host_seconds: //p' || true)
    if [ $result = ok ] && ! "$KVMRR" check "$rec" >"$rec.check" 2>&1; then
      result=check what=$(grep -m1 '^#' "$rec.check" || tail -n 1 "$rec.check")
    fi
    if [ $result = ok ] && ! "$KVMRR" replay "$rec" >"$rec.replay" 2>&1; then
      result=diverged what=$(grep -m1 -i 'diverge' "$rec.replay" || tail -n 1 "$rec.replay")
    fi
    echo "soak: $w --smp $smp #$i: $result, ${events:-?} events, ${secs:-?} s recorded${what:+: $what}" >&2
    if [ $result = ok ]; then
      ok=$((ok + 1))
    else
      failed=$((failed + 1))
      mkdir -p "$keep"
      cp -a "$rec" "$rec".* "$keep"/ 2>/dev/null || true
    fi
    rows+="| $w | $smp | $i | $result | ${events:-} | ${secs:-} | ${what//|/\\|} |"$'\n'
  done
done

[ -f "$out" ] || printf '# KVM multi-core soak (through tools/kvm-lab)\n\nWritten by `bench/kvm-lab-soak.sh`; newest run last.\n' >"$out"
{
  echo
  echo "## $(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD): $ok of $total replayed"
  echo
  echo "Plan \`$PLAN\` (SMP:recordings[:workload]; smp: tests/e2e/smp_workload.sh, the others tests/e2e/lib.sh's), recorded with --accel kvm in one L1 boot"
  echo "(L2's vCPUs time-share L1's one vCPU)${CHECKSUM:+ with $CHECKSUM}, replayed on $(machine_line)"
  [ $failed = 0 ] || echo "Failures kept in $keep."
  echo
  echo "| workload | smp | # | result | events | recorded host s | first line of the failure |"
  echo "| --- | ---: | ---: | --- | ---: | ---: | --- |"
  printf '%s' "$rows"
} >>"$out"
tail -n $((total + 8)) "$out"
[ $failed = 0 ]
