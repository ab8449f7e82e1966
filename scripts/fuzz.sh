#!/usr/bin/env bash
# Builds every libFuzzer target with clang and runs each for SECONDS (default 30) on its corpus
# (tests/fuzz/corpus/<target>/, seeds committed) . Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
build=build-fuzz
# The tests' option is left as the build has it: scripts/test.sh builds them here too.
CC=clang CXX=clang++ cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWARPGATE_FUZZ=ON -DWARPGATE_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cpp; do [ -e "$f" ] && targets+=("$(basename "$f" .cpp)"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets"; exit 0; }
cmake --build $build -j"$(nproc)" --target "${targets[@]}"
# One fuzzer per core at a time (each is single-threaded); their outputs print in order after.
logs=$(mktemp -d)
run_one() {
  local t=$1 corpus
  corpus=$(mktemp -d)
  [ -d tests/fuzz/corpus/$t ] && cp -r tests/fuzz/corpus/$t/. "$corpus"/
  local rc=0
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 "$corpus" >"$logs/$t.log" 2>&1 || rc=$?
  rm -rf "$corpus"
  return $rc
}
failed=()
pids=()
names=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  run_one "$t" &
  pids+=($!)
  names+=("$t")
done
for i in "${!pids[@]}"; do
  t=${names[$i]}
  if wait "${pids[$i]}"; then status=ok; else status=FAILED; failed+=("$t"); fi
  echo "fuzz: $t for ${seconds}s: $status"
  if [ "$status" = ok ]; then tail -4 "$logs/$t.log"; else tail -60 "$logs/$t.log"; fi
done
rm -rf "$logs"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran without a crash"
