#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run the demo.
# As root, two peers behind two NATs of the lab link by auto_connect and chat
# (scripts/demo_lab.sh: --nat-a MODE, --nat-b MODE); otherwise, or where the lab cannot run,
# two peers in one process connect through auto_connect over loopback and talk.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only  # no servers: the demo touches no system service
BUILD_DIR=build scripts/build.sh -DWARPGATE_TESTS=OFF -DWARPGATE_BENCH=OFF
if why=$(tests/lab/lab.sh check 2>&1); then exec scripts/demo_lab.sh "$@"; fi
why=${why#lab: }
echo "demo: the NAT lab cannot run here (${why#SKIPPED: }): the loopback demo instead"
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --nat-a | --nat-b) shift $(($# > 1 ? 2 : 1)) ;; # the lab's options, nothing to choose on loopback
    *) args+=("$1"); shift ;;
  esac
done
exec build/apps/warpgate demo "${args[@]}"
