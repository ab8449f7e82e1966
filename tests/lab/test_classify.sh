#!/usr/bin/env bash
# Self-check: every NAT mode, on both routers, is classified as intended by two independent
# STUN clients (coturn's RFC 5780 natdiscovery, Debian's RFC 3489 stun) and by the mappings one
# socket gets from four server endpoints (equal, random or consecutive ports).
. "$(dirname "$0")/testlib.sh"
lab_test classify
"$LAB" up --nat-a port-restricted --nat-b port-restricted

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

verify_host() { # HOST ROUTER MODE OUT_PREFIX
  local host=$1 router=$2 mode=$3 out=$4 nd stun map ips expect_ip shape want
  nd=$(cat "$out.nd"); stun=$(cat "$out.stun"); map=$(cat "$out.map")
  check "$mode $host: natdiscovery: ${MAPPING[$mode]}" contains "$nd" "NAT with ${MAPPING[$mode]}!"
  check "$mode $host: natdiscovery: ${FILTERING[$mode]}" contains "$nd" "NAT with ${FILTERING[$mode]}!"
  check "$mode $host: stun: ${STUN_SAYS[$mode]}" contains "$stun" "${STUN_SAYS[$mode]}"
  if [ "$mode" = none ]; then expect_ip=$("$LAB" ip "$host"); else expect_ip=$("$LAB" ip "$router"); fi
  ips=$(awk '{split($2, a, ":"); print a[1]}' <<<"$map" | sort -u | tr '\n' ' ')
  check "$mode $host: mapped address is $expect_ip (got: $ips)" [ "$ips" = "$expect_ip " ]
  # shellcheck disable=SC2046
  shape=$(ports_shape $(awk '{split($2, a, ":"); print a[2]}' <<<"$map"))
  case $mode in symmetric) want=scattered ;; sequential) want=consecutive ;; *) want=same ;; esac
  check "$mode $host: mapped ports are $want (got $shape)" [ "$shape" = "$want" ]
}

for mode in none full-cone restricted port-restricted symmetric sequential; do
  "$LAB" set-nat ra "$mode"
  "$LAB" set-nat rb "$mode"
  # Both sides at once: natdiscovery waits out its filtering probes (~6 s).
  classify_host ha "$mode" "$WG_LAB_RUN/ha" &
  pid=$!
  classify_host hb "$mode" "$WG_LAB_RUN/hb"
  wait "$pid"
  verify_host ha ra "$mode" "$WG_LAB_RUN/ha"
  verify_host hb rb "$mode" "$WG_LAB_RUN/hb"
done
lab_done
