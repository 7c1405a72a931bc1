#!/usr/bin/env bash
# bench/pmem-check.sh [STATES...]: the pmem pass's cost and kvm-pmem-check's throughput on
# the ACE-style workload (guest/kvm-rr-pmem-ace), in one run:
#  - replay with the pmem pass against the same replay without it (the plugin's cost);
#  - kvm-rr pmem-check at each --max-states (default 40 120 400): crash states checked per
#    second, images mounted, guest boots, and the marginal seconds per image between the
#    smallest and the largest run (boot cost excluded).
# Writes results/pmem-check.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
KVMRR=$here/../build/bin/kvm-rr
STATES=("$@")
[ ${#STATES[@]} -gt 0 ] || STATES=(40 120 400)
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-bench-pmem.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$here/results/pmem-check.md
mkdir -p "$here/results"

ACE='mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mkdir -p /mnt/pmem && mount -o dax /dev/pmem0 /mnt/pmem && kvm-rr-pmem-ace /mnt/pmem'
echo "bench: recording the ACE workload (TCG, 16 MiB pmem)"
"$KVMRR" record --pmem 16 -o "$work/rec" -- "$ACE" >"$work/rec.log" 2>&1

timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }; t1=$(date +%s.%N); printf '%.2f\n' "$(echo "$t1 - $t0" | bc)"; }

echo "bench: replay without and with the pmem pass"
plain=$(timeit "$KVMRR" replay "$work/rec")
events=$(sed -n 's/^replay: OK events=\([0-9]*\).*/\1/p' "$work/last.log")
with=$(timeit "$KVMRR" replay --pass pmem "$work/rec")
passline=$(grep '^pmem pass:' "$work/last.log")
logsize=$(stat -c %s "$work/rec/pmem/pmem.log")

rows=()
for n in "${STATES[@]}"; do
  echo "bench: pmem-check --max-states $n"
  # Exit 1 (failing states) is a result, not an error.
  t0=$(date +%s.%N)
  st=0
  "$KVMRR" pmem-check --max-states "$n" --batch 100 "$work/rec" >"$work/last.log" 2>&1 || st=$?
  [ "$st" -le 1 ] || { cat "$work/last.log" >&2; exit 1; }
  t=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
  j=$work/rec/pmem/report.json
  read -r states failed images boots sps < <(python3 -c "import json,sys; r=json.load(open('$j')); print(r['states'], r['failed'], r['images_checked'], r['guest_boots'], round(r['states_per_second'],2))")
  rows+=("$n $states $failed $images $boots $t $sps")
done

{
  echo "# pmem pass and pmem-check throughput"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git -C "$here/.." rev-parse --short HEAD), $(machine_line)"
  echo "Workload: guest/kvm-rr-pmem-ace on ext4 -o dax, 16 MiB pmem, recorded under TCG ($events events)."
  echo
  echo "| replay | seconds | ratio |"
  echo "| --- | ---: | ---: |"
  echo "| without a pass | $plain | 1.00x |"
  echo "| with --pass pmem | $with | $(printf '%.2f' "$(echo "scale=4; $with / $plain" | bc)")x |"
  echo
  echo "pmem log: $((logsize / 1024)) KiB; $passline"
  echo
  echo "| --max-states | states | failed | images mounted | guest boots | seconds | states/s |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for r in "${rows[@]}"; do set -- $r; echo "| $1 | $2 | $3 | $4 | $5 | $6 | $7 |"; done
  first=(${rows[0]}); last=(${rows[-1]})
  if [ "${last[3]}" -gt "${first[3]}" ]; then
    echo
    echo "Marginal cost per mounted image (largest minus smallest run): $(printf '%.2f' "$(echo "scale=4; (${last[5]} - ${first[5]}) / (${last[3]} - ${first[3]})" | bc)") s."
  fi
} >"$out"
cat "$out"
