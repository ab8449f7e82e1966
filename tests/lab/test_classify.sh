#!/usr/bin/env bash
# Self-check: every NAT mode, on both routers, is classified as intended by two independent
# STUN clients (coturn's RFC 5780 natdiscovery, Debian's RFC 3489 stun) and by the mappings one
# socket gets from four server endpoints (equal, random or consecutive ports). natdiscovery
# mostly waits out its filtering probes, so two labs classify three modes each, side by side.
. "$(dirname "$0")/testlib.sh"
lab_test classify
lab_extra 2

# expected behaviour per mode: natdiscovery mapping | natdiscovery filtering | stun summary
declare -A MAPPING=(
  [none]="Endpoint Independent Mapping" [full-cone]="Endpoint Independent Mapping"
  [restricted]="Endpoint Independent Mapping" [port-restricted]="Endpoint Independent Mapping"
  [symmetric]="Address and Port Dependent Mapping" [sequential]="Address and Port Dependent Mapping")
declare -A FILTERING=(
  [none]="Endpoint Independent Filtering" [full-cone]="Endpoint Independent Filtering"
  [restricted]="Address Dependent Filtering" [port-restricted]="Address and Port Dependent Filtering"
  [symmetric]="Address and Port Dependent Filtering" [sequential]="Address and Port Dependent Filtering")
declare -A STUN_SAYS=(
  [none]="Primary: Open" [full-cone]="Independent Mapping, Independent Filter"
  [restricted]="Independent Mapping, Address Dependent Filter"
  [port-restricted]="Independent Mapping, Port Dependent Filter"
  [symmetric]="Dependent Mapping" [sequential]="Dependent Mapping")

# ports_shape PORT...: same, consecutive (each +1) or scattered.
ports_shape() {
  local first=$1 prev=$1 p same=1 consecutive=1
  shift
  for p in "$@"; do
    [ "$p" = "$first" ] || same=0
    [ "$p" = $((prev + 1)) ] || consecutive=0
    prev=$p
  done
  if [ "$same" = 1 ]; then echo same; elif [ "$consecutive" = 1 ]; then echo consecutive; else echo scattered; fi
}

classify_host() { # HOST MODE OUT_PREFIX
  # natdiscovery mostly waits out its filtering probes: stun runs meanwhile. The mapping
  # probe runs alone, since a sequential NAT's counter is shared by every new flow.
  "$LAB" exec "$1" -- turnutils_natdiscovery -m -f 198.51.100.100 >"$3.nd" 2>&1 &
  "$LAB" exec "$1" -- stun 198.51.100.100 >"$3.stun" 2>&1 || true
  wait $! || true
  "$LAB" exec "$1" -- "$PUNCH" map 198.51.100.100:3478 198.51.100.101:3478 \
    198.51.100.100:3479 198.51.100.101:3479 >"$3.map" 2>&1 || true
}

# The address a host's mappings must show: its own when public, else its router's.
declare -A PUBLIC_HOST=([ha]=198.51.100.66 [hb]=203.0.113.66)
declare -A ROUTER_WAN=([ha]=198.51.100.2 [hb]=203.0.113.2)

verify_host() { # HOST MODE OUT_PREFIX
  local host=$1 mode=$2 out=$3 nd stun map ips expect_ip shape want
  nd=$(cat "$out.nd"); stun=$(cat "$out.stun"); map=$(cat "$out.map")
  check "$mode $host: natdiscovery: ${MAPPING[$mode]}" contains "$nd" "NAT with ${MAPPING[$mode]}!"
  check "$mode $host: natdiscovery: ${FILTERING[$mode]}" contains "$nd" "NAT with ${FILTERING[$mode]}!"
  check "$mode $host: stun: ${STUN_SAYS[$mode]}" contains "$stun" "${STUN_SAYS[$mode]}"
  if [ "$mode" = none ]; then expect_ip=${PUBLIC_HOST[$host]}; else expect_ip=${ROUTER_WAN[$host]}; fi
  ips=$(awk '{split($2, a, ":"); print a[1]}' <<<"$map" | sort -u | tr '\n' ' ')
  check "$mode $host: mapped address is $expect_ip (got: $ips)" [ "$ips" = "$expect_ip " ]
  # shellcheck disable=SC2046
  shape=$(ports_shape $(awk '{split($2, a, ":"); print a[2]}' <<<"$map"))
  case $mode in symmetric) want=scattered ;; sequential) want=consecutive ;; *) want=same ;; esac
  check "$mode $host: mapped ports are $want (got $shape)" [ "$shape" = "$want" ]
}

# collect PREFIX MODE...: in lab PREFIX, both routers in each MODE in turn, ha and hb
# classified at once; results in $OUT/MODE-HOST.*.
collect() {
  local prefix=$1 mode pid; shift
  export WG_LAB_PREFIX=$prefix WG_LAB_RUN=/tmp/wg-lab-$prefix
  "$LAB" up >/dev/null
  for mode in "$@"; do
    "$LAB" set-nat ra "$mode"
    "$LAB" set-nat rb "$mode"
    classify_host ha "$mode" "$OUT/$mode-ha" &
    pid=$!
    classify_host hb "$mode" "$OUT/$mode-hb"
    wait "$pid"
  done
}

# A fixed folder, so that the next run clears what a killed run left.
OUT=/tmp/wg-lab-$WG_LAB_PREFIX-out
rm -rf "$OUT"
mkdir "$OUT"
collect "$WG_LAB_PREFIX" none full-cone restricted &
first=$!
(collect "${LAB_EXTRA_PREFIXES[0]}" port-restricted symmetric sequential)
wait "$first"
for mode in none full-cone restricted port-restricted symmetric sequential; do
  verify_host ha "$mode" "$OUT/$mode-ha"
  verify_host hb "$mode" "$OUT/$mode-hb"
done
rm -rf "$OUT"
lab_done
