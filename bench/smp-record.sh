#!/usr/bin/env bash
# bench/smp-record.sh [REPEAT]: what multi-core recording costs under TCG, at --smp 1, 2
# and 4, side by side in one run: each workload unrecorded (`kvm-rr run`, QEMU's default
# TCG: one host thread per vCPU) and recorded (`kvm-rr record`: all vCPUs on one TCG thread,
# kernel code of one vCPU at a time), alternating, timed by the guest clock; then the
# replay of the last recording (wall time, whole recording). Workloads, one instance per
# vCPU: kern = 1-byte dd (kernel time), user = busybox awk loop (user time); and pingpong =
# kvm-rr-pingpong with one thread pair per vCPU (futex and pipe hand-overs across CPUs).
# Medians of REPEAT rounds. Writes results/smp-record.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
KVMRR=$here/../build/bin/kvm-rr
REPEAT=${1:-3}
out=$here/results/smp-record.md
mkdir -p "$here/results"
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-bench-smp.XXXXXX")
trap 'rm -rf "$work"' EXIT

W="$(per_vcpu_workloads 200000)"'
pp() { kvm-rr-pingpong $n 10000 >/dev/null; };
echo "BENCH kern $(t kern)"; echo "BENCH user $(t user)"; echo "BENCH pingpong $(t pp)"'
WORKLOADS="kern user pingpong"

declare -A times replay events
for smp in 1 2 4; do
  for r in $(seq 1 "$REPEAT"); do
    for mode in plain recorded; do
      echo "bench: smp $smp, $mode, round $r" >&2
      if [ $mode = plain ]; then
        "$KVMRR" run --smp "$smp" -- "$W" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
      else
        rm -rf "$work/rec"
        "$KVMRR" record --smp "$smp" -o "$work/rec" -- "$W" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
      fi
      for w in $WORKLOADS; do
        times[$smp,$mode,$w]+="$(sed -n "s/^BENCH $w //p" "$work/out") "
      done
    done
  done
  echo "bench: smp $smp, replay" >&2
  s=$(date +%s.%N)
  "$KVMRR" replay "$work/rec" >"$work/replay" 2>&1 || { tail -40 "$work/replay" >&2; exit 1; }
  e=$(date +%s.%N)
  replay[$smp]=$(printf '%.1f' "$(echo "$e - $s" | bc)")
  events[$smp]=$(sed -n 's/^replay: OK events=\([0-9]*\).*/\1/p' "$work/replay")
done

{
  echo "# Multi-core recording under TCG"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git -C "$here/.." rev-parse --short HEAD), $(machine_line) Median of $REPEAT alternating rounds, guest clock (s)."
  echo "One instance per vCPU of: kern = dd 1-byte copy /dev/zero -> /dev/null, 200000 blocks (kernel time);"
  echo "user = busybox awk loop (user time); pingpong = kvm-rr-pingpong, one thread pair per vCPU, 10000 futex"
  echo "and 10000 pipe hand-overs each. Unrecorded: QEMU's default TCG, one host thread per vCPU (2 host cores)."
  echo "Recorded: all vCPUs on one TCG thread, one vCPU's kernel code at a time (the multi-core design of issue 5)."
  echo
  echo "| smp | workload | unrecorded s | recorded s | slowdown |"
  echo "| ---: | --- | ---: | ---: | ---: |"
  for smp in 1 2 4; do
    for w in $WORKLOADS; do
      p=$(echo "${times[$smp,plain,$w]}" | med); s=$(echo "${times[$smp,recorded,$w]}" | med)
      echo "| $smp | $w | $p | $s | $(printf '%.2f' "$(echo "scale=4; $s / $p" | bc)")x |"
    done
  done
  echo
  echo "Replay of the last recording at each size (the whole recording, from its snapshot; wall time):"
  echo
  echo "| smp | events | replay s |"
  echo "| ---: | ---: | ---: |"
  for smp in 1 2 4; do echo "| $smp | ${events[$smp]} | ${replay[$smp]} |"; done
} >"$out"
cat "$out"
