#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run the demo
# (two peers in one process connect through auto_connect over loopback and talk).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only  # no servers: the demo touches no system service
BUILD_DIR=build scripts/build.sh -DWARPGATE_TESTS=OFF -DWARPGATE_BENCH=OFF
exec build/apps/warpgate demo "$@"
