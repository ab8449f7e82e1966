#!/usr/bin/env bash
# Installs dependencies, builds, and passes every test: unit, integration, the examples against
# the installed package and (as root) the NAT lab; then unit and integration again under
# AddressSanitizer + UndefinedBehaviorSanitizer (clang), and a short run of every fuzzer on that
# same build. Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's header says how long the run has taken so far (CI's budget is 50 minutes).
step() { printf '== %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }
step "dependencies"
scripts/install-deps.sh

passed=0
failed=0
skipped=0
# Runs ctest with the given args, adds its counts to the totals, keeps going on failure.
run_ctest() {
  local dir=$1
  shift
  local log
  log=$(mktemp)
  set +e
  ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
  set -e
  local total fail skip
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  fail=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  skip=$(grep -c '\*\*\*Skipped\|Not Run' "$log" || true)
  rm -f "$log"
  if [ -z "$total" ]; then
    failed=$((failed + 1))  # ctest itself failed (no summary)
    return
  fi
  passed=$((passed + total - fail - skip))
  failed=$((failed + fail))
  skipped=$((skipped + skip))
}

step "build (RelWithDebInfo)"
BUILD_DIR=build scripts/build.sh -DWARPGATE_TESTS=ON -DWARPGATE_BENCH=ON -DWARPGATE_PYTHON=ON
step "unit and integration tests"
run_ctest build -L 'unit|integration' -j2 --timeout 300
step "examples/ against the installed package (find_package and pkg-config, g++-12)"
if scripts/examples.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
step "NAT lab tests"
if [ "$(id -u)" -eq 0 ]; then
  run_ctest build -L lab -j2 --timeout 300
else
  echo "NAT lab tests need root: skipped (run as root to include them)"
fi

# One clang build serves the sanitizers and the fuzzers: AddressSanitizer + UBSan with the
# fuzzers' coverage instrumentation, so the library is compiled twice in all, not three times.
step "AddressSanitizer + UndefinedBehaviorSanitizer build (clang, shared with the fuzzers)"
CC=clang CXX=clang++ BUILD_DIR=build-fuzz scripts/build.sh -DWARPGATE_FUZZ=ON -DWARPGATE_TESTS=ON -DWARPGATE_BENCH=OFF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_ctest build-fuzz -L 'unit|integration' -j2 --timeout 600

step "fuzzers (${FUZZ_SECONDS:-15} s each)"
if scripts/fuzz.sh "${FUZZ_SECONDS:-15}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "done"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
