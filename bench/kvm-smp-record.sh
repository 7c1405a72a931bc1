#!/usr/bin/env bash
# bench/kvm-smp-record.sh [REPEAT]: what multi-core recording costs under KVM (the kernel
# token in the guest's ring: one vCPU in kernel mode at a time), at --smp 1, 2 and 4, through
# tools/kvm-lab, side by side in one L1 boot: each workload unrecorded (`kvm-rr run --accel
# kvm`) and recorded (`kvm-rr record --accel kvm`), alternating, one guest boot and one
# recording per workload. The workloads are bench/smp-record.sh's (one instance per vCPU:
# kern, user, pingpong), smaller, so that smp 8 recorded fits a lab run. Medians of REPEAT
# rounds. SMPS="1 2 4 8" adds --smp 8 (default 1 2 4). Writes results/kvm-smp-record.md,
# with what the recorder counted for each workload's recording: KVM exits per kernel entry,
# hand-overs of the kernel token through QEMU per host second, timer ticks per host second.
#
# Timed by L1's clock: the guest prints a marker before and after each workload and L1
# stamps each marker with its /proc/uptime as it arrives. The L2 guest clock cannot time a
# recording under KVM at several vCPUs: its clock is jiffies, ticked at sync points.
#
# L1 has one vCPU (with two, nested SVM under TCG corrupts L2: tools/kvm-lab), so the L2
# vCPUs take turns on it even unrecorded: the slowdown is what the token's exits and
# hand-overs cost, not the parallelism serialization takes away (that needs a real KVM host).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$here/..
. "$here/lib.sh"
REPEAT=${1:-2}
SMPS=${SMPS:-1 2 4}
DD_BLOCKS=50000
PP_ROUNDS=2000
out=$here/results/kvm-smp-record.md
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-bench-kvm-smp.XXXXXX")
trap 'rm -rf "$work"' EXIT
WORKLOADS="kern user pingpong"

# The ping-pong's pairs spin while the other thread of a pair waits for L1's one vCPU: at
# --smp 8 unrecorded it did not end in 25 minutes with 2000 rounds. PP_ROUNDS at 1 and 2
# vCPUs, half that at 4, a quarter at 8.
DEFS="$(per_vcpu_workloads $DD_BLOCKS)"'
pingpong() { r=$(('$PP_ROUNDS' * 2 / n)); [ $r -gt '$PP_ROUNDS' ] && r='$PP_ROUNDS'; kvm-rr-pingpong $n $r >/dev/null; };'

# L1's script: one line per workload and run into /out/results,
#   SMP MODE WORKLOAD L1_SECONDS EVENTS HANDOVERS EXITS_PER_ENTRY HANDOVERS_PER_S TICKS_PER_S
{
  # Here-documents: the workloads have newlines and quotes, and L1's sh is busybox.
  for w in $WORKLOADS; do
    printf 'W_%s=$(cat <<%s\n%s\n%s\n%s\n)\n' "$w" "'KVMRR_W'" "$DEFS" "$(marked "$w" "$w")" KVMRR_W
  done
  cat <<'L1'

# Each marker line stamped with L1's uptime as it arrives (the console may end lines in CR).
stamp() { while IFS= read -r l; do case $l in *KVMRR-BENCH-*) echo "$(cut -d' ' -f1 /proc/uptime) $l" ;; esac; done; }
one() { smp=$1 mode=$2 w=$3
  eval "W=\$W_$w"
  rm -rf /tmp/rec
  if [ "$mode" = recorded ]; then
    { kvm-rr record --accel kvm --smp "$smp" --timeout 300 -o /tmp/rec -- "$W" 2>/tmp/run.err; echo $? >/tmp/st; } | stamp >/tmp/stamps
  else
    { kvm-rr run --accel kvm --smp "$smp" --timeout 300 -- "$W" 2>/tmp/run.err; echo $? >/tmp/st; } | stamp >/tmp/stamps
  fi
  st=$(cat /tmp/st)
  [ "$st" = 0 ] || { echo "kvm-lab bench: --smp $smp $mode $w exited $st" >&2; tail -n 40 /tmp/run.err >&2; exit 1; }
  ev=0 ho=0 xe=0 hs=0 ts=0
  if [ "$mode" = recorded ]; then
    kvm-rr dump /tmp/rec >/tmp/dump || { echo "kvm-lab bench: the --smp $smp $w recording is not complete" >&2; cat /tmp/dump >&2; exit 1; }
    ev=$(sed -n 's/^events: //p' /tmp/dump); ho=$(sed -n 's/^deschedule: //p' /tmp/dump)
    xe=$(sed -n 's/^exits_per_kernel_entry: //p' /tmp/dump); hs=$(sed -n 's/^token_handoffs_per_second: //p' /tmp/dump)
    ts=$(sed -n 's/^timer_interrupts_per_second: //p' /tmp/dump)
  fi
  awk -v smp="$smp" -v mode="$mode" -v w="$w" -v ev="$ev" -v ho="${ho:-0}" -v xe="${xe:-0}" -v hs="${hs:-0}" -v ts="${ts:-0}" '
    { gsub(/\r/, "") }
    $2 == "KVMRR-BENCH-START" { s[$3] = $1 }
    $2 == "KVMRR-BENCH-END" && ($3 in s) { printf "%s %s %s %.2f %s %s %s %s %s\n", smp, mode, $3, $1 - s[$3], ev, ho, xe, hs, ts; n++ }
    END { if (n != 1) { print "kvm-lab bench: the " w " phase did not come back" > "/dev/stderr"; exit 1 } }' /tmp/stamps >/tmp/rows ||
    { cat /tmp/stamps >&2; exit 1; }
  cat /tmp/rows >>/out/results
  cat /tmp/rows
}
L1
  for smp in $SMPS; do
    for r in $(seq 1 "$REPEAT"); do
      for w in $WORKLOADS; do
        echo "echo 'bench: smp $smp, round $r, $w' >&2; one $smp unrecorded $w || exit 1; one $smp recorded $w || exit 1"
      done
    done
  done
} >"$work/l1.sh"

echo "bench: $REPEAT rounds at --smp ${SMPS// /, } under KVM in the lab, unrecorded and recorded side by side" >&2
"$ROOT/tools/kvm-lab" run --cpus 1 --timeout $((3600 * REPEAT)) --out "$work/out" -- "$(cat "$work/l1.sh")"
[ -s "$work/out/results" ] || { echo "bench: no results came back from the lab" >&2; exit 1; }

pick() { awk -v s="$1" -v m="$2" -v w="$3" -v c="$4" '$1 == s && $2 == m && $3 == w {print $c}' "$work/out/results" | median; }
mkdir -p "$here/results"
# Earlier runs stay below the new one.
earlier=$(earlier_runs "$out")
{
  echo "# Multi-core recording under KVM (through tools/kvm-lab)"
  echo
  echo "## $(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD)"
  echo
  echo "Generated by \`SMPS=\"$SMPS\" bench/kvm-smp-record.sh $REPEAT\` on $(machine_line)"
  echo "L2 under kvm_amd in an L1 VM with one vCPU, under TCG with nested SVM. Median of $REPEAT alternating rounds;"
  echo "each workload phase timed by L1's clock (console markers stamped by L1 as they arrive; 10 ms), one guest boot"
  echo "and one recording per workload. One instance per vCPU of: kern = dd 1-byte copy /dev/zero -> /dev/null,"
  echo "$DD_BLOCKS blocks (kernel time); user = busybox awk loop (user time); pingpong = kvm-rr-pingpong, one thread"
  echo "pair per vCPU, $PP_ROUNDS futex and $PP_ROUNDS pipe hand-overs each at 1 and 2 vCPUs, half that at 4, a quarter"
  echo "at 8. L1's single vCPU runs every L2 vCPU in turn, recorded or not: the slowdown is what recording costs"
  echo "(exits, hand-overs of the kernel token), not lost parallelism. The counters are each workload's recording's:"
  echo "KVM exits per kernel entry, token hand-overs through QEMU (deschedules; per host second), timer ticks per"
  echo "host second (all vCPUs; the guest ticks at 100 Hz per vCPU)."
  echo
  echo "| smp | workload | unrecorded s | recorded s | slowdown | events | deschedules | exits/kernel entry | hand-overs/host s | ticks/host s |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for smp in $SMPS; do
    for w in $WORKLOADS; do
      awk -v smp="$smp" -v w="$w" -v p="$(pick "$smp" unrecorded "$w" 4)" -v s="$(pick "$smp" recorded "$w" 4)" \
          -v e="$(pick "$smp" recorded "$w" 5)" -v h="$(pick "$smp" recorded "$w" 6)" \
          -v xe="$(pick "$smp" recorded "$w" 7)" -v hs="$(pick "$smp" recorded "$w" 8)" -v ts="$(pick "$smp" recorded "$w" 9)" \
        'BEGIN { printf "| %s | %s | %.2f | %.2f | %s | %d | %d | %.3f | %.1f | %.1f |\n", smp, w, p, s, (p > 0 ? sprintf("%.1fx", s / p) : "-"), e, h, xe, hs, ts }'
    done
  done
  echo
  # kern makes two system calls (read, write) per block per vCPU: what one kernel entry costs.
  for smp in $SMPS; do
    awk -v smp="$smp" -v b=$DD_BLOCKS -v p="$(pick "$smp" unrecorded kern 4)" -v s="$(pick "$smp" recorded kern 4)" \
      'BEGIN { n = smp * b * 2; printf "kern at smp %s: %d system calls, %.1f us each unrecorded, %.1f us recorded.\n", smp, n, p * 1e6 / n, s * 1e6 / n }'
  done
  echo
  echo "Raw runs (smp, mode, workload, L1 seconds, events, deschedules, exits per kernel entry, hand-overs per second,"
  echo "ticks per second):"
  echo
  echo '```'
  cat "$work/out/results"
  echo '```'
  print_earlier_runs "$earlier"
} >"$out.new"
mv "$out.new" "$out"
cat "$out"
