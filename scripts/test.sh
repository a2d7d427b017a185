#!/bin/sh
# Every test, through CTest: first the normal build (unit, end-to-end,
# browser, lint, fuzz), then the ASan+UBSan build (unit and end-to-end).
#   scripts/test.sh BUILD_DIR ASAN_BUILD_DIR FUZZ_SECONDS
set -eu
build=${1:-build}
asan=${2:-build-asan}
export FUZZ_SECONDS="${3:-20}"
here=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

echo "== tests (build: $build)"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (build: $asan)"
[ -f "$asan/CMakeCache.txt" ] ||
  cmake -S "$here" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DIMG_SANITIZE=ON -DCMAKE_RULE_MESSAGES=OFF >/dev/null
cmake --build "$asan" -j "$jobs" -- --no-print-directory -s
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$here/test/sanitizer/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --test-dir "$asan" --output-on-failure -j "$jobs" -L 'unit|e2e' -LE 'slow'
