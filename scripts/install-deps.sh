#!/usr/bin/env bash
# Installs every Debian 12 package warpgate needs to build, test, fuzz and run its lab.
# Idempotent: apt-get is only called for packages that are missing.
# --build-only: just what building warpgate needs (scripts/demo.sh): no servers, no services.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  # libraries
  libasio-dev libssl-dev libsecp256k1-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libexpected-dev libmosquitto-dev libminiupnpc-dev libsqlite3-dev libpq-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Python bindings (WARPGATE_PYTHON) and their tests
  python3-dev python3-pybind11 pybind11-dev python3-pytest
)
[ "${1:-}" = "--build-only" ] || PACKAGES+=(
  # real servers used by the tests and the lab
  mosquitto coturn chrony miniupnpd-nftables stun-client stun-server postgresql
  # their clients, which the lab's self-checks use
  mosquitto-clients miniupnpc natpmpc socat ethtool tcpdump
  # lab plumbing
  iproute2 iptables nftables conntrack ipset procps psmisc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts some servers as system services on install; the tests start their own on
# free ports. Stop only those this run installed, never a service the machine already had;
# and not chrony, which replaced the machine's time sync (systemd-timesyncd) on install.
for svc in mosquitto coturn miniupnpd postgresql; do
  for p in "${missing[@]}"; do
    case "$p" in "$svc"|"$svc"-*) $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true ;; esac
  done
done
