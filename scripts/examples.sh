#!/usr/bin/env bash
# Builds examples/ the way a user's program would use warpgate: build/ installed into a
# temporary prefix, then each example compiled against it with find_package(warpgate CONFIG)
# and with pkg-config, by Debian 12's g++ (GCC 12), and run on loopback. Also checks that the
# README prints each example exactly as it is compiled. Exit status 0 when all of it works.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cxx=${CXX:-g++-12}
launcher=$(command -v ccache || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The ```cpp block the README prints after the line "<!-- examples/NAME.cpp -->".
readme_block() {
  awk -v marker="<!-- $1 -->" '$0 == marker { found = 1; next }
    found && /^```cpp$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }' README.md
}
echo "-- the README's code is examples/"
blocks=$(grep -c '^```cpp$' README.md)
markers=$(grep -c '^<!-- examples/.*\.cpp -->$' README.md)
if [ "$blocks" -ne "$markers" ]; then
  echo "README.md has $blocks C++ blocks but $markers of them name their examples/ file" >&2
  exit 1
fi
while read -r example; do
  diff -u <(readme_block "$example") "$example" || { echo "README.md prints $example differently" >&2; exit 1; }
done < <(sed -n 's/^<!-- \(examples\/.*\.cpp\) -->$/\1/p' README.md)

echo "-- cmake --install $build"
cmake --build "$build" --target warpgate warpgate_cli warpgate-pnpd >/dev/null
cmake --install "$build" --prefix "$work/prefix" >/dev/null

echo "-- find_package(warpgate CONFIG) with $cxx"
cmake -S examples -B "$work/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$work/prefix" ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} >/dev/null
cmake --build "$work/cmake"

echo "-- pkg-config --cflags --libs warpgate with $cxx"
mkdir -p "$work/pkg-config"
pc_flags=$(PKG_CONFIG_PATH="$(dirname "$(find "$work/prefix" -name warpgate.pc)")" pkg-config --cflags --libs warpgate)
for example in examples/*.cpp; do
  name=$(basename "$example" .cpp)
  # shellcheck disable=SC2086  # pc_flags is a list of flags
  $launcher "$cxx" -std=c++20 -O2 "$example" -o "$work/pkg-config/$name" $pc_flags
done

echo "-- a braced options temporary inside co_await does not compile (GCC 12 frees it twice)"
cat >"$work/braced.cpp" <<'CPP'
#include <warpgate/gate.hpp>
asio::awaitable<void> open(asio::any_io_executor ex) {
    auto gate = co_await warpgate::Gate::open(ex, "alpha", {.conf = warpgate::NodeConfig::test(), .port = 0});
}
CPP
# shellcheck disable=SC2086
if "$cxx" -std=c++20 -fsyntax-only "$work/braced.cpp" $pc_flags 2>"$work/braced.log"; then
  echo "the unsafe pattern compiles" >&2
  exit 1
fi
grep -q "GateOptions" "$work/braced.log" || { cat "$work/braced.log" >&2; exit 1; }

echo "-- run on loopback"
export HOME="$work/home"  # the examples' identity keys
for example in examples/*.cpp; do
  name=$(basename "$example" .cpp)
  for variant in cmake pkg-config; do
    echo "$variant/$name:"
    timeout 60 "$work/$variant/$name"
  done
done
echo "examples: built and ran"
