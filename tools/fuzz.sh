#!/usr/bin/env bash
# tools/fuzz.sh [--seconds N] [HARNESS...]: builds kvm-rr's libFuzzer harnesses (fuzz/) in a
# clang tree of their own (build/fuzz: the parsers compiled with -fsanitize=fuzzer-no-link,
# address,undefined) and runs each for N seconds (default 30): trace_stream, trace_events,
# meta_json, guest_ring, pmem_log. Corpora grow in build/fuzz/corpus/HARNESS from the seeds in
# fuzz/corpus/HARNESS. A crash leaves its input in build/fuzz/crashes/ and fails (exit 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=30
HARNESSES=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) HARNESSES+=("$1"); shift ;;
  esac
done
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(trace_stream trace_events meta_json guest_ring pmem_log)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is missing (make deps)" >&2; exit 1; }
B=$ROOT/build/fuzz
FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
echo "fuzz.sh: building the harnesses (clang, sanitizers) in $B" >&2
cmake -S "$ROOT" -B "$B" -G Ninja -DKVMRR_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" >/dev/null
ninja -C "$B" --quiet $(printf 'kvmrr_fuzz_%s ' "${HARNESSES[@]}")
mkdir -p "$B/crashes"
status=0
for h in "${HARNESSES[@]}"; do
  corpus=$B/corpus/$h
  mkdir -p "$corpus"
  seeds=()
  [ -d "$ROOT/fuzz/corpus/$h" ] && seeds=("$ROOT/fuzz/corpus/$h")
  echo "fuzz.sh: $h for ${SECONDS_EACH}s" >&2
  if ! ASAN_OPTIONS=detect_leaks=1 "$B/fuzzers/kvmrr_fuzz_$h" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$B/crashes/$h-" "$corpus" "${seeds[@]}" \
      >"$B/$h.log" 2>&1; then
    tail -n 40 "$B/$h.log" >&2
    echo "fuzz.sh: $h FAILED: input in $B/crashes/" >&2
    status=1
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$h.log")
  cov=$(grep -oE 'cov: [0-9]+' "$B/$h.log" | tail -n 1 | cut -d' ' -f2)
  echo "fuzz.sh: $h ok: $execs executions, coverage $cov edges, corpus $(ls "$corpus" | wc -l) inputs"
done
exit $status
