#!/usr/bin/env bash
# tools/sanitize-unit.sh [SANITIZERS]: kvm-rr's C++ built with -fsanitize=SANITIZERS (default
# address,undefined; any error is fatal) in a tree of its own, build/sanitize, and every unit
# test (GoogleTest) run there. `make test` runs it (sanitize.unit_tests); `make unit-test`
# runs the plain build's. The front end, QEMU glue and plugins are not run by unit tests and
# are not built here.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAN=${1:-address,undefined}
B=$ROOT/build/sanitize
FLAGS="-fsanitize=$SAN -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
echo "sanitize-unit.sh: building the unit tests with -fsanitize=$SAN in $B" >&2
cmake -S "$ROOT" -B "$B" -G Ninja -DKVMRR_SANITIZE_TREE=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$SAN" >/dev/null
TESTS=(kvmrr_format_tests kvmrr_record_tests kvmrr_replay_tests kvmrr_pmem_tests
       kvmrr_syscalls_tests kvmrr_branches_tests kvmrr_cli_tests)
ninja -C "$B" --quiet "${TESTS[@]}"
status=0
for t in "${TESTS[@]}"; do
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$B/tests/$t" --gtest_brief=1 >"$B/$t.log" 2>&1; then
    echo "sanitize-unit.sh: $t: $(grep -oE '[0-9]+ tests? from [0-9]+ test suites? ran' "$B/$t.log" | head -n 1), no sanitizer error"
  else
    tail -n 40 "$B/$t.log" >&2
    echo "sanitize-unit.sh: $t FAILED under -fsanitize=$SAN (log: $B/$t.log)" >&2
    status=1
  fi
done
exit $status
