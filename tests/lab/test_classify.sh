#!/usr/bin/env bash
# Self-check: every NAT mode, on both routers, is classified as intended by two independent
# STUN clients (coturn's RFC 5780 natdiscovery, Debian's RFC 3489 stun) and by the mappings one
# socket gets from four server endpoints (equal, random or consecutive ports). natdiscovery
# mostly waits out its filtering probes, so two labs classify three modes each, side by side.
# Then warpgate's own classification must agree with them: its NAT type with stun's summary,
# its mapping behaviour with natdiscovery's, and the external port it reports for the
# measured socket with the router's own conntrack entry for that socket.
. "$(dirname "$0")/testlib.sh"
lab_test classify
lab_extra 2
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }

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

# warpgate's words -> what stun / natdiscovery print for the same behaviour
declare -A STUN_FOR_TYPE=(
  ["open internet"]="Primary: Open" ["full cone"]="Independent Mapping, Independent Filter"
  ["restricted"]="Independent Mapping, Address Dependent Filter"
  ["port restricted"]="Independent Mapping, Port Dependent Filter" ["symmetric"]="Dependent Mapping")
declare -A ND_FOR_MAPPING=(
  [endpoint-independent]="Endpoint Independent Mapping" [address-dependent]="Address Dependent Mapping"
  [address-and-port-dependent]="Address and Port Dependent Mapping")
declare -A ROUTER=([ha]=ra [hb]=rb)

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
  # warpgate last (alone, for the sequential NAT); then the router's entry for its measured
  # socket to the primary server, whose reply direction names the external port.
  local ip port
  ip=$("$LAB" ip "$1")
  "$LAB" exec "$1" -- "$WG" nat --stun "$STUN" --ip "$ip" --json >"$3.wg" 2>"$3.wgerr" || true
  port=$(jq -r '.[0].local // ""' "$3.wg" 2>/dev/null | sed 's/.*://')
  "$LAB" exec "${ROUTER[$1]}" -- conntrack -L -p udp -s "$ip" --sport "${port:-0}" -d 198.51.100.100 --dport 3478 \
    >"$3.ct" 2>/dev/null || true
  # The node itself: its address must carry its UDP listen socket's own mapping.
  printf '{"preset": "test", "enable_stun_clients": true, "stun_servers": ["%s"]}\n' "$STUN" >"$3.conf"
  "$LAB" exec "$1" -- "$WG" addr --config "$3.conf" --ip "$ip" --port "$NODE_PORT" --json >"$3.addr" 2>"$3.addrerr" || true
  "$LAB" exec "${ROUTER[$1]}" -- conntrack -L -p udp -s "$ip" --sport "$NODE_PORT" -d 198.51.100.100 --dport 3478 \
    >"$3.addrct" 2>/dev/null || true
}
NODE_PORT=41234

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

  local wg type mapping external local_end nd_mapping ct_port
  wg=$(cat "$out.wg" "$out.wgerr")
  type=$(jq -r '.[0].nat_type // "missing"' "$out.wg" 2>/dev/null || echo unreadable)
  mapping=$(jq -r '.[0].mapping // "missing"' "$out.wg" 2>/dev/null || echo unreadable)
  external=$(jq -r '.[0].external // ""' "$out.wg" 2>/dev/null)
  local_end=$(jq -r '.[0].local // ""' "$out.wg" 2>/dev/null)
  check "$mode $host: warpgate's NAT type '$type' agrees with stun" contains "$stun" "${STUN_FOR_TYPE[$type]:-no such type: $wg}"
  nd_mapping=$(grep -oE 'NAT with [A-Za-z ]+ Mapping' <<<"$nd" | head -n1)
  check "$mode $host: warpgate's mapping '$mapping' agrees with natdiscovery ('$nd_mapping')" \
    [ "NAT with ${ND_FOR_MAPPING[$mapping]:-?}" = "$nd_mapping" ]
  check "$mode $host: external address is $expect_ip (got: $external)" [ "${external%:*}" = "$expect_ip" ]
  if [ "$mode" = none ]; then
    check "$mode $host: external port is the socket's own (got: $external, socket $local_end)" [ "$external" = "$local_end" ]
  else
    ct_port=$(grep -oE 'dport=[0-9]+' "$out.ct" | tail -n1 | cut -d= -f2)
    check "$mode $host: external port ${external##*:} of socket $local_end is the router's mapping (${ct_port:-none})" \
      [ "${external##*:}" = "${ct_port:-none}" ]
  fi
  local node_port node_type
  node_port=$(jq -r '.entries[0].external_port // "missing"' "$out.addr" 2>/dev/null || echo unreadable)
  node_type=$(jq -r '.entries[0].nat_type // "missing"' "$out.addr" 2>/dev/null || echo unreadable)
  if [ "$mode" = none ]; then
    check "$mode $host: the node address carries its listen port $NODE_PORT as external port (got $node_port)" [ "$node_port" = "$NODE_PORT" ]
  else
    ct_port=$(grep -oE 'dport=[0-9]+' "$out.addrct" | tail -n1 | cut -d= -f2)
    check "$mode $host: the node address carries its listen socket's mapping ${ct_port:-none} (got $node_port)" \
      [ "$node_port" = "${ct_port:-none}" ]
  fi
  check "$mode $host: the node address's NAT type '$node_type' is warpgate nat's '$type'" [ "$node_type" = "$type" ]
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
