#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and run the demo.
# As root, two peers behind two NATs of the lab link by auto_connect and chat
# (scripts/demo_lab.sh: --nat-a MODE, --nat-b MODE); otherwise, or where the lab cannot run,
# two peers in one process connect through auto_connect over loopback and talk.
set -euo pipefail
cd "$(dirname "$0")/.."
# As root the lab's servers too (the lab runs its own instances; a service the install
# started is stopped again, and none the machine already ran is touched); otherwise only
# what the build needs.
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else scripts/install-deps.sh --build-only; fi
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
