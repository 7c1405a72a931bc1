#!/usr/bin/env bash
# bench/soak.sh N [SMP...]: multi-core determinism under load (`make soak N=... SMP=... JOBS=...`).
# N recordings of the e2e multi-core workload (tests/e2e/smp_workload.sh) at each --smp value
# (default: 2 4), JOBS of them side by side (default 2: load changes the interleavings, which
# a quiet machine seldom varies). Each must complete, pass `kvm-rr check` and replay to its
# last event. Recordings that pass are deleted; every other one is kept with its output and
# replay report under $KVMRR_CACHE/soak/RUN/ for a post-mortem (`kvm-rr replay DIR`).
# Appends the run's table (recordings, events, divergences, each failure's first line) to
# results/soak.md. Exits 1 when any recording failed. Runs beside `make test`, not in it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$here/..
. "$here/lib.sh"
. "$ROOT/tests/e2e/smp_workload.sh"
N=${1:?usage: bench/soak.sh N [SMP...]}
shift
SMPS=${*:-2 4}
JOBS=${JOBS:-2}
KVMRR=$ROOT/build/bin/kvm-rr
CACHE=${KVMRR_CACHE:-$HOME/.cache/kvm-rr}
run_id=$(date +%Y%m%d-%H%M%S)
keep=$CACHE/soak/$run_id
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$keep"
export KVMRR SMP_WORKLOAD work keep

# one SMP I: records, checks and replays; one line of results.tsv:
# smp, i, result (ok, record, check, diverged, replay), events, record s, replay s, what.
one() {
  local smp=$1 i=$2 rec=$work/smp$1-$2 t0 t1 t2 result=ok what="" events=0
  t0=$SECONDS
  if ! "$KVMRR" record --smp "$smp" --timeout 900 -o "$rec" -- "$SMP_WORKLOAD" >"$rec.out" 2>&1 ||
     ! grep -q "SMP-DONE $smp" "$rec.out"; then
    result=record what=$(grep -v '^\s*$' "$rec.out" | tail -n 1)
  fi
  t1=$SECONDS
  events=$("$KVMRR" dump "$rec" 2>/dev/null | sed -n 's/^events: //p')
  if [ $result = ok ] && ! "$KVMRR" check "$rec" >"$rec.check" 2>&1; then
    result=check what=$(grep -m1 '^#' "$rec.check" || tail -n 1 "$rec.check")
  fi
  if [ $result = ok ] && ! "$KVMRR" replay --timeout 900 "$rec" >"$rec.replay" 2>&1; then
    if grep -q 'DIVERGED' "$rec.replay"; then
      result=diverged what=$(grep -m1 'DIVERGED' "$rec.replay")
    else
      result=replay what=$(tail -n 1 "$rec.replay")
    fi
  fi
  t2=$SECONDS
  if [ $result = ok ]; then
    rm -rf "$rec" "$rec".*
  else
    mv "$rec" "$rec".* "$keep/" 2>/dev/null || true
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$smp" "$i" "$result" "${events:-0}" $((t1 - t0)) $((t2 - t1)) \
    "$(tr '\t' ' ' <<<"$what" | cut -c1-300)" >>"$work/results.tsv"
  echo "soak: --smp $smp #$i: $result, ${events:-0} events (record $((t1 - t0)) s, check+replay $((t2 - t1)) s)${what:+: $what}"
}
export -f one

start=$SECONDS
echo "soak: $N recordings at --smp ${SMPS// /, } ($JOBS side by side); failures kept in $keep"
for smp in $SMPS; do
  seq 1 "$N" | sed "s/^/$smp /"
done | xargs -P "$JOBS" -L 1 bash -c 'one "$@"' _
elapsed=$((SECONDS - start))

{
  [ -s "$here/results/soak.md" ] || printf '# Multi-core determinism soak (bench/soak.sh, `make soak`)\n\nEach run: N recordings of the e2e multi-core workload (tests/e2e/smp_workload.sh) per --smp, made JOBS at a time under TCG, each checked and replayed to its end.\n'
  printf '\n## %s, commit %s, %s at a time, %d s\n\n%s\n\n' "$(date -u +%Y-%m-%d)" "$(git -C "$ROOT" rev-parse --short HEAD)" "$JOBS" "$elapsed" "$(machine_line)"
  echo '| smp | recordings | replayed OK | diverged | other failures | events per recording (min-max) | record s (median) | check+replay s (median) |'
  echo '| --- | --- | --- | --- | --- | --- | --- | --- |'
  for smp in $SMPS; do
    awk -F'\t' -v s="$smp" '$1 == s' "$work/results.tsv" >"$work/s.tsv"
    printf '| %s | %s | %s | %s | %s | %s-%s | %s | %s |\n' "$smp" "$(wc -l <"$work/s.tsv")" \
      "$(awk -F'\t' '$3 == "ok"' "$work/s.tsv" | wc -l)" "$(awk -F'\t' '$3 == "diverged"' "$work/s.tsv" | wc -l)" \
      "$(awk -F'\t' '$3 != "ok" && $3 != "diverged"' "$work/s.tsv" | wc -l)" \
      "$(cut -f4 "$work/s.tsv" | sort -n | head -n1)" "$(cut -f4 "$work/s.tsv" | sort -n | tail -n1)" \
      "$(cut -f5 "$work/s.tsv" | median)" "$(cut -f6 "$work/s.tsv" | median)"
  done
  if awk -F'\t' '$3 != "ok"' "$work/results.tsv" | grep -q .; then
    printf '\nFailures (kept in the cache under soak/%s):\n\n' "$run_id"
    awk -F'\t' '$3 != "ok" {printf "- --smp %s #%s: %s: %s\n", $1, $2, $3, $7}' "$work/results.tsv"
  fi
} >>"$here/results/soak.md"
failed=$(awk -F'\t' '$3 != "ok"' "$work/results.tsv" | wc -l)
echo "soak: $(wc -l <"$work/results.tsv") recordings, $failed failed, in $elapsed s; table appended to bench/results/soak.md"
[ "$failed" = 0 ] || exit 1
rmdir "$keep" 2>/dev/null || true
