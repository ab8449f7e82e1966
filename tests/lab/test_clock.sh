#!/usr/bin/env bash
# The node's SNTP clock behind NATs: warpgate (addr --json, listen -v) measures the lab's
# chrony (198.51.100.100:123) from hosts behind a port-restricted and a symmetric NAT; with
# an offset injected by configuration the reported offset is its negation within the
# reported uncertainty, a dead server costs only its line, and without injection the offset
# is 0 within the uncertainty (all namespaces share this machine's clock).
. "$(dirname "$0")/testlib.sh"
lab_test clock
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
"$LAB" up --nat-a port-restricted --nat-b symmetric
NTP=198.51.100.100

# measure HOST INJECT_MS OUT [--ntp SERVER ...]: warpgate addr --json from HOST, keys in the run dir.
measure() {
  local host=$1 inject=$2 out=$3
  shift 3
  printf '{"inject_clock_offset_ms": %s, "install_path": "%s"}\n' "$inject" "$WG_LAB_RUN/keys-$host" >"$out.conf"
  "$LAB" exec "$host" -- "$WG" addr --test --config "$out.conf" --ip "$("$LAB" ip "$host")" --port 0 "$@" --json \
    >"$out.json" 2>"$out.err" || true
}
clock() { jq -r ".clock.$2 // \"missing\"" "$1.json" 2>/dev/null || echo "unreadable"; }
# corrected OUT INJECT_MS: |offset + inject| <= uncertainty (and the uncertainty is sane, < 50 ms).
corrected() {
  jq -e --argjson inject "$2" '.clock | (.offset_ms + $inject) as $e | (if $e < 0 then -$e else $e end) <= .uncertainty_ms
    and .uncertainty_ms < 50 and .synced' "$1.json" >/dev/null 2>&1
}

measure ha 250 "$WG_LAB_RUN/ha" --ntp "$NTP"
echo "ha (port-restricted, +250 ms injected): $(clock "$WG_LAB_RUN/ha" summary)"
check "ha: synced through the port-restricted NAT ($(cat "$WG_LAB_RUN/ha.err"))" [ "$(clock "$WG_LAB_RUN/ha" synced)" = true ]
check "ha: offset -250 ms within the uncertainty (offset $(clock "$WG_LAB_RUN/ha" offset_ms) ± $(clock "$WG_LAB_RUN/ha" uncertainty_ms))" \
  corrected "$WG_LAB_RUN/ha" 250
check "ha: the start phase says so" contains "$(jq -r '.phases[] | select(.name == "initialize_system_clock") | .outcome' "$WG_LAB_RUN/ha.json")" \
  "^offset -2(49|50)\.[0-9]+ ms ± [0-9.]+ ms from 1 of 1 servers$"

measure hb -1000 "$WG_LAB_RUN/hb" --ntp "$NTP" --ntp 198.51.100.101:123
echo "hb (symmetric, -1000 ms injected, one dead server): $(clock "$WG_LAB_RUN/hb" summary)"
check "hb: offset +1000 ms within the uncertainty through the symmetric NAT" corrected "$WG_LAB_RUN/hb" -1000
check "hb: the dead server is named and the live one used" contains "$(clock "$WG_LAB_RUN/hb" summary)" \
  "from 1 of 2 servers; 198\.51\.100\.101:123: "

measure ha 0 "$WG_LAB_RUN/ha0" --ntp "$NTP"
echo "ha (no injection): $(clock "$WG_LAB_RUN/ha0" summary)"
check "ha: without injection the offset is 0 within the uncertainty" corrected "$WG_LAB_RUN/ha0" 0

measure hb 0 "$WG_LAB_RUN/hb-off"
check "hb: --test without --ntp leaves the clock alone" contains \
  "$(jq -r '.phases[] | select(.name == "initialize_system_clock") | .outcome' "$WG_LAB_RUN/hb-off.json")" "^disabled$"

# listen takes --ntp too: its start-up progress names the clock phase.
printf '{"inject_clock_offset_ms": 250, "install_path": "%s"}\n' "$WG_LAB_RUN/keys-listen" >"$WG_LAB_RUN/listen.conf"
"$LAB" exec ha -- timeout 3 "$WG" listen --test --config "$WG_LAB_RUN/listen.conf" --ip "$("$LAB" ip ha)" --port 0 \
  --ntp "$NTP" -v >"$WG_LAB_RUN/listen.out" 2>"$WG_LAB_RUN/listen.err" || true
check "listen --ntp: the clock phase in its progress" contains "$(cat "$WG_LAB_RUN/listen.err")" \
  "initialize_system_clock: offset -2(49|50)\.[0-9]+ ms"
check "connect takes --ntp" contains "$("$WG" connect --help 2>&1)" "--ntp"
lab_done
