#!/usr/bin/env bash
# warpgate nat in every NAT mode of the lab, on both sides: the NAT type, delta type and
# external address it reports are the intended ones, and agree with Debian's independent
# RFC 3489 `stun` client run from the same host.
. "$(dirname "$0")/testlib.sh"
lab_test nat
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
"$LAB" up --nat-a port-restricted --nat-b port-restricted

# mode -> warpgate's NAT type | delta type | what stun must say for the same NAT
declare -A NAT_TYPE=(
  [none]="open internet" [full-cone]="full cone" [restricted]="restricted"
  [port-restricted]="port restricted" [symmetric]="symmetric" [sequential]="symmetric")
declare -A DELTA=(
  [none]="not applicable" [full-cone]="equal" [restricted]="equal"
  [port-restricted]="equal" [symmetric]="random" [sequential]="independent")
declare -A STUN_SAYS=(
  [none]="Primary: Open" [full-cone]="Independent Mapping, Independent Filter"
  [restricted]="Independent Mapping, Address Dependent Filter"
  [port-restricted]="Independent Mapping, Port Dependent Filter"
  [symmetric]="Dependent Mapping" [sequential]="Dependent Mapping")

measure_host() { # HOST OUT_PREFIX: warpgate first, then stun (a sequential NAT's counter is shared)
  "$LAB" exec "$1" -- "$WG" nat --stun "$STUN" --ip "$("$LAB" ip "$1")" --json >"$2.json" 2>"$2.err" || true
  "$LAB" exec "$1" -- stun "${STUN%:*}" >"$2.stun" 2>&1 || true
}

field() { jq -r ".[0].$2 // \"missing\"" "$1.json" 2>/dev/null || echo "unreadable"; }

verify_host() { # HOST ROUTER MODE OUT_PREFIX
  local host=$1 router=$2 mode=$3 out=$4 type delta value external expect_ip
  type=$(field "$out" nat_type)
  delta=$(field "$out" delta_type)
  value=$(field "$out" delta_value)
  external=$(field "$out" external)
  if [ "$mode" = none ]; then expect_ip=$("$LAB" ip "$host"); else expect_ip=$("$LAB" ip "$router"); fi
  check "$mode $host: warpgate says ${NAT_TYPE[$mode]} (got: $type $(cat "$out.err"))" [ "$type" = "${NAT_TYPE[$mode]}" ]
  check "$mode $host: delta ${DELTA[$mode]} (got: $delta $value)" [ "$delta" = "${DELTA[$mode]}" ]
  check "$mode $host: external address is $expect_ip (got: $external)" [ "${external%:*}" = "$expect_ip" ]
  check "$mode $host: stun agrees: ${STUN_SAYS[$mode]}" contains "$(cat "$out.stun")" "${STUN_SAYS[$mode]}"
  if [ "$mode" = sequential ]; then
    check "$mode $host: delta value 1 (consecutive ports)" [ "$value" = 1 ]
  fi
}

for mode in none full-cone restricted port-restricted symmetric sequential; do
  "$LAB" set-nat ra "$mode"
  "$LAB" set-nat rb "$mode"
  measure_host ha "$WG_LAB_RUN/nat-ha" &
  pid=$!
  measure_host hb "$WG_LAB_RUN/nat-hb"
  wait "$pid"
  verify_host ha ra "$mode" "$WG_LAB_RUN/nat-ha"
  verify_host hb rb "$mode" "$WG_LAB_RUN/nat-hb"
done
# A dead server first (nothing listens on .109) is skipped; the address a node publishes
# (warpgate addr, like listen and connect, takes --stun even with --test) carries the
# external address and NAT type.
"$LAB" set-nat ra port-restricted
ha_ip=$("$LAB" ip ha)
"$LAB" exec ha -- "$WG" nat --stun 198.51.100.109:3478 --stun "$STUN" --ip "$ha_ip" --json >"$WG_LAB_RUN/dead.json" 2>&1 || true
check "dead server skipped: port restricted" [ "$(jq -r '.[0].nat_type' "$WG_LAB_RUN/dead.json")" = "port restricted" ]
check "dead server reported as silent" contains "$(jq -r '.[0].servers[0].note' "$WG_LAB_RUN/dead.json")" "no answer within [0-9]+ ms of the first one"
echo '{"preset": "test", "install_path": "'"$WG_LAB_RUN/node"'"}' >"$WG_LAB_RUN/node.json"
"$LAB" exec ha -- "$WG" addr --config "$WG_LAB_RUN/node.json" --test --stun "$STUN" --ip "$ha_ip" --port 0 --json >"$WG_LAB_RUN/addr.json" 2>&1 || true
check "node address carries the external IP $("$LAB" ip ra)" [ "$(jq -r '.entries[0].external_ip' "$WG_LAB_RUN/addr.json")" = "$("$LAB" ip ra)" ]
check "node address carries the NAT type" [ "$(jq -r '.entries[0].nat_type' "$WG_LAB_RUN/addr.json")" = "port restricted" ]
lab_done
