#!/usr/bin/env bash
# The recorders side by side, in one run, for the same guest and workload:
#   baseline         `kvm-rr run` (no recording)
#   kernel_rr        `kvm-rr record`, then `kvm-rr replay` (replay is always TCG)
#   whole_system_rr  QEMU's own record/replay of the whole VM (-icount shift=auto,rr=...,
#                    the disk behind blkreplay), record then replay; TCG only (QEMU's
#                    record/replay needs icount)
# under TCG on this host and, with ACCEL=kvm, under KVM through tools/kvm-lab (baseline and
# kernel_rr run in one L1 boot; the recording is replayed here).
#
# Times are the workload phase only: the guest prints a marker line before and after the
# command and the host (L1 under KVM) notes when each arrives on the console, so boot and
# shutdown are left out for every scheme, whole-VM replay included (its console replays);
# kvm-rr's replay time is its own summary's (the recording holds only the command). Medians
# of REPEAT rounds. Logs: kvm-rr's event stream (zstd-compressed as written, and raw), QEMU's
# rrfile (raw as written, and zstd -3). Writes bench/results/schemes-WORKLOAD[-kvm].md and
# .tsv (what bench/all.sh tabulates and plots).
#
#   bench/schemes.sh WORKLOAD [REPEAT]     WORKLOAD: microbench | fio | rocksdb
#   SCHEMES=baseline,kernel_rr,whole_system_rr (the default) picks which run; ACCEL=tcg|kvm.
#   `make run/WORKLOAD schemes=... repeat=N` is the same.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KVMRR=$ROOT/build/bin/kvm-rr
WORKLOAD=${1:?usage: bench/schemes.sh microbench|fio|rocksdb [REPEAT]}
REPEAT=${2:-3}
ACCEL=${ACCEL:-tcg}
SUFFIX=$([ "$ACCEL" = kvm ] && echo "-kvm" || true)
OUT=$ROOT/bench/results/schemes-$WORKLOAD$SUFFIX
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmrr-schemes.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
. "$ROOT/bench/lib.sh"

case $WORKLOAD in
  microbench) CMD='kvm-rr-microbench all' ;;
  fio) CMD='fio --name=rw --filename=/root/fio.dat --size=16M --rw=randrw --bs=4k --direct=1 --ioengine=psync --time_based --runtime=5 --output-format=terse >/dev/null' ;;
  rocksdb) CMD='cd /root && db_bench --benchmarks=fillrandom,readrandom --num=50000 --db=/root/db >/dev/null' ;;
  *) echo "bench/schemes.sh: unknown workload $WORKLOAD" >&2; exit 2 ;;
esac
GUEST=$(marked "$CMD")

SCHEMES=${SCHEMES:-baseline,kernel_rr,whole_system_rr}
has() { [[ ",$SCHEMES," == *",$1,"* ]]; }
for s in ${SCHEMES//,/ }; do
  case $s in baseline|kernel_rr|whole_system_rr) ;; *) echo "bench/schemes.sh: unknown scheme $s" >&2; exit 2 ;; esac
done
case $ACCEL in tcg|kvm) ;; *) echo "bench/schemes.sh: ACCEL is tcg or kvm" >&2; exit 2 ;; esac
if [ "$ACCEL" = kvm ] && has whole_system_rr; then
  echo "bench: whole_system_rr does not apply under KVM (QEMU's record/replay needs TCG's icount); left out"
  SCHEMES=${SCHEMES//whole_system_rr/}
fi

# QEMU's own record/replay of the same machine: kvm-rr prints its QEMU command line with
# --verbose; the disk goes behind blkreplay and -icount turns on record or replay.
whole_vm_command() {
  local mode=$1 rrfile=$2
  "$KVMRR" run --verbose --timeout 600 -- "$GUEST" 2>&1 >/dev/null | sed -n 's/^kvm-rr run: env /env /p' | head -n1 >"$WORK/line"
  python3 - "$WORK/line" "$mode" "$rrfile" <<'PY'
import shlex, sys
words = shlex.split(open(sys.argv[1]).read())
mode, rrfile = sys.argv[2], sys.argv[3]
i = words.index("-drive")
image = words[i + 1].split(",")[0].split("=", 1)[1]
words[i + 1] = f"file={image},if=none,format=raw,snapshot=on,id=img-direct"
words[i + 2:i + 2] = ["-drive", "driver=blkreplay,if=none,image=img-direct,id=root"]
words += ["-icount", f"shift=auto,rr={mode},rrfile={rrfile}"]
print(" ".join(shlex.quote(w) for w in words))
PY
}

# phase CMD...: runs CMD (its stdout is the guest console) and prints the workload phase's
# seconds; fails loudly when CMD fails or the markers did not come.
phase() {
  local t
  t=$("$@" 2>"$WORK/err" | phase_seconds) || true
  [ -n "$t" ] || { tail -n 20 "$WORK/err" >&2; echo "bench: no workload phase from: $*" >&2; exit 1; }
  echo "$t"
}

# kvm-rr's replay: the core's own time for the whole log (= the command).
replay_seconds() {
  local line
  line=$("$KVMRR" replay --timeout 3600 "$1" 2>"$WORK/err" | grep '^replay: ') || true
  [[ $line == "replay: OK "* ]] || { tail -n 40 "$WORK/err" >&2; echo "bench: replay of $1: ${line:-no verdict}" >&2; exit 1; }
  sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line"
}

# stream_stats DIR: "EVENTS STREAM_BYTES RAW_BYTES" of a kvm-rr recording.
stream_stats() {
  "$KVMRR" dump "$1" | awk -F': ' '$1=="events"{e=$2} $1=="stream_bytes"{s=$2} $1=="raw_bytes"{r=$2} END {print e, s, r}'
}

for f in base krec krep kstat wrec wrep wstat; do : >"$WORK/$f"; done
echo "bench: $WORKLOAD ($ACCEL), $REPEAT rounds of ${SCHEMES//,/ }"
if [ "$ACCEL" = tcg ]; then
  for r in $(seq 1 "$REPEAT"); do
    line="bench: round $r:"
    if has baseline; then
      phase "$KVMRR" run --timeout 1800 -- "$GUEST" >>"$WORK/base"
      line+=" baseline $(tail -n1 "$WORK/base") s;"
    fi
    if has kernel_rr; then
      rm -rf "$WORK/rec"
      phase "$KVMRR" record --timeout 1800 -o "$WORK/rec" -- "$GUEST" >>"$WORK/krec"
      replay_seconds "$WORK/rec" >>"$WORK/krep"
      stream_stats "$WORK/rec" >>"$WORK/kstat"
      line+=" kernel_rr $(tail -n1 "$WORK/krec") s record, $(tail -n1 "$WORK/krep") s replay;"
    fi
    if has whole_system_rr; then
      rm -f "$WORK/rr.bin"
      whole_vm_command record "$WORK/rr.bin" >"$WORK/wrec.sh"
      whole_vm_command replay "$WORK/rr.bin" >"$WORK/wrep.sh"
      phase bash "$WORK/wrec.sh" >>"$WORK/wrec"
      phase bash "$WORK/wrep.sh" >>"$WORK/wrep"
      echo "- $(zstd -3 -q -c "$WORK/rr.bin" | wc -c) $(stat -c %s "$WORK/rr.bin")" >>"$WORK/wstat"
      line+=" whole_system_rr $(tail -n1 "$WORK/wrec") s record, $(tail -n1 "$WORK/wrep") s replay"
    fi
    echo "$line"
  done
else
  # One L1 boot: each round runs the baseline and the recording; L1's clock (/proc/uptime)
  # times the phases; recordings come back through /out for replay here.
  {
    echo 'phase() { s= e=; while IFS= read -r l; do case $l in *KVMRR-BENCH-START*) s=$(cut -d" " -f1 /proc/uptime) ;; *KVMRR-BENCH-END*) e=$(cut -d" " -f1 /proc/uptime) ;; esac; done; [ -n "$s" ] && [ -n "$e" ] && echo "$e - $s" | bc; }'
    for r in $(seq 1 "$REPEAT"); do
      if has baseline; then
        printf 't=$(kvm-rr run --accel kvm --timeout 1800 -- %q 2>/tmp/err | phase); [ -n "$t" ] || { cat /tmp/err; exit 1; }; echo "base $t" | tee -a /out/phases\n' "$GUEST"
      fi
      if has kernel_rr; then
        printf 't=$(kvm-rr record --accel kvm --timeout 1800 -o /out/rec%s -- %q 2>/tmp/err | phase); [ -n "$t" ] || { cat /tmp/err; exit 1; }; echo "krec %s $t" | tee -a /out/phases\n' "$r" "$GUEST" "$r"
      fi
    done
  } >"$WORK/l1.sh"
  "$ROOT/tools/kvm-lab" run --timeout $((3600 * REPEAT)) --out "$WORK/out" -- "$(cat "$WORK/l1.sh")"
  awk '$1 == "base" {print $2}' "$WORK/out/phases" >"$WORK/base"
  if has kernel_rr; then
    for r in $(seq 1 "$REPEAT"); do
      awk -v r="$r" '$1 == "krec" && $2 == r {print $3}' "$WORK/out/phases" >>"$WORK/krec"
      replay_seconds "$WORK/out/rec$r" >>"$WORK/krep"
      stream_stats "$WORK/out/rec$r" >>"$WORK/kstat"
      echo "bench: round $r: kernel_rr $(tail -n1 "$WORK/krec") s record (KVM), $(tail -n1 "$WORK/krep") s replay (TCG)"
    done
  fi
fi

# One TSV row per scheme: accel scheme base_s record_s replay_s events log_bytes raw_log_bytes
b=$( [ -s "$WORK/base" ] && median <"$WORK/base" || echo 0)
col() { awk -v c="$2" '{print $c}' "$1" | median; }  # median of column $2 of file $1
{
  has baseline && echo "$ACCEL baseline $b $b - - - -"
  if has kernel_rr; then
    echo "$ACCEL kernel_rr $b $(median <"$WORK/krec") $(median <"$WORK/krep") $(col "$WORK/kstat" 1) $(col "$WORK/kstat" 2) $(col "$WORK/kstat" 3)"
  fi
  if has whole_system_rr; then
    echo "$ACCEL whole_system_rr $b $(median <"$WORK/wrec") $(median <"$WORK/wrep") - $(col "$WORK/wstat" 2) $(col "$WORK/wstat" 3)"
  fi
} >"$OUT.tsv"

mkdir -p "$(dirname "$OUT")"
{
  echo "# Schemes side by side: $WORKLOAD ($ACCEL)"
  echo
  echo "Generated by \`ACCEL=$ACCEL bench/schemes.sh $WORKLOAD $REPEAT\` on $(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD),"
  machine_line
  echo "Guest command: \`$CMD\`. Workload phase only (console markers); medians of $REPEAT."
  echo
  scheme_table_header
  scheme_table_rows "$WORKLOAD" <"$OUT.tsv"
} >"$OUT.md"
cat "$OUT.md"
