#!/usr/bin/env bash
# bench/serialized-kernel.sh [REPEAT]: what one-CPU-in-the-kernel (kvmrr_serialize) costs
# unrecorded, at --smp 1, 2 and 4, side by side in one run: N parallel syscall-heavy dd's
# (N = vCPUs; 1-byte reads and writes, almost all kernel time) and a user-heavy loop per
# vCPU (busybox awk), each timed by the guest clock, plain and serialized alternating;
# medians of REPEAT rounds. Writes results/serialized-kernel.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
KVMRR=$here/../build/bin/kvm-rr
REPEAT=${1:-3}
out=$here/results/serialized-kernel.md
mkdir -p "$here/results"
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-bench-serial.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One guest run: both workloads, each with one instance per vCPU, timed by /proc/uptime.
W="$(per_vcpu_workloads 100000)"'
echo "BENCH kern $(t kern)"; echo "BENCH user $(t user)"'

declare -A times
for smp in 1 2 4; do
  for r in $(seq 1 "$REPEAT"); do
    for mode in plain serialized; do
      args=()
      [ $mode = serialized ] && args=(--kernel-args kvmrr_serialize)
      echo "bench: smp $smp, $mode, round $r" >&2
      "$KVMRR" run --smp "$smp" "${args[@]}" -- "$W" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
      for w in kern user; do
        times[$smp,$mode,$w]+="$(sed -n "s/^BENCH $w //p" "$work/out") "
      done
    done
  done
done

{
  echo "# Serialized guest kernel (kvmrr_serialize), unrecorded"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git -C "$here/.." rev-parse --short HEAD), $(machine_line) Median of $REPEAT alternating rounds, guest clock (s)."
  echo "One instance per vCPU of: kern = dd 1-byte copy /dev/zero -> /dev/null, 100000 blocks (kernel time);"
  echo "user = busybox awk loop (user time). TCG runs each vCPU on its own host thread (2 host cores)."
  echo
  echo "| smp | workload | plain s | serialized s | slowdown |"
  echo "| ---: | --- | ---: | ---: | ---: |"
  for smp in 1 2 4; do
    for w in kern user; do
      p=$(echo "${times[$smp,plain,$w]}" | med); s=$(echo "${times[$smp,serialized,$w]}" | med)
      echo "| $smp | $w | $p | $s | $(printf '%.2f' "$(echo "scale=4; $s / $p" | bc)")x |"
    done
  done
} >"$out"
cat "$out"
