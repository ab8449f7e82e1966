#!/usr/bin/env bash
# Port mapping end to end (issue 17): ha sits behind a symmetric NAT whose router ra runs
# miniupnpd (PCP and NAT-PMP on 10.1.0.1:5351, UPnP-IGD on :2189). With each protocol forced
# in turn, `warpgate listen` maps its port and hb reaches it by direct_connect alone (TCP and
# UDP); close() removes the mapping from the router; a node killed -9 leaves it until its
# lease ends; a router restart (epoch reset) is noticed and the mapping restored; and a router
# that answers nothing delays start() by no more than port_mapping_timeout_ms.
. "$(dirname "$0")/testlib.sh"
lab_test portmap
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }

"$LAB" up --upnp-a --nat-a symmetric
work=$(mktemp -d "$WG_LAB_RUN/portmap.XXXX")
PORT=40000
EXT=198.51.100.2
LISTENER=

# The router's DNAT rules for PORT (miniupnpd's nftables chain) and its UPnP listing.
router_rules() { "$LAB" exec ra -- nft list chain inet miniupnpd prerouting_miniupnpd | grep -c "dport $PORT" || true; }
wait_rules() { # wait_rules COUNT SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do [ "$(router_rules)" = "$1" ] && return 0; sleep 0.1; done
  return 1
}

# start_listener NAME ARGS...: warpgate listen on ha, port PORT; waits for its address file.
start_listener() {
  local name=$1 i; shift
  rm -f "$work/$name.addr"
  "$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" listen --test --port "$PORT" --echo -v --addr-out "$work/$name.addr" "$@" \
    >"$work/$name.log" 2>&1 &
  LISTENER=$!
  for ((i = 0; i < 100; i++)); do [ -s "$work/$name.addr" ] && break; sleep 0.1; done
  [ -s "$work/$name.addr" ]
}
stop_listener() {
  kill -"${1:-TERM}" "$LISTENER" 2>/dev/null || true
  wait "$LISTENER" 2>/dev/null || true
}
# direct TRANSPORT ADDRFILE: hb dials ha by direct_connect only; 0 when the echo comes back.
direct() {
  local out
  out=$("$LAB" exec hb -- env XDG_DATA_HOME="$work/b" "$WG" connect "@$2" --test --plugins direct_connect \
    --transport "$1" --send "mapped $1" --json --timeout 4 2>>"$work/connect.err") || true
  contains "$out" "\"reply\": \"mapped $1\""
}
phase_ms() { grep -oE '\[ *[0-9.]+ ms\] start_background_port_forwarding' "$1" | grep -oE '[0-9.]+' | head -1; }

# Without a mapping the symmetric NAT keeps hb out.
check "baseline: listener without mapping starts" start_listener plain
check "baseline: direct_connect cannot reach ha behind the symmetric NAT" not direct tcp "$work/plain.addr"
stop_listener

for proto in pcp natpmp upnp; do
  check "$proto: listener starts" start_listener "$proto" "--$proto"
  log=$(cat "$work/$proto.log")
  check "$proto: TCP mapped at $EXT:$PORT" contains "$log" "port mapping: $proto TCP $EXT:$PORT -> 10.1.0.2:$PORT"
  check "$proto: UDP mapped at $EXT:$PORT" contains "$log" "port mapping: $proto UDP $EXT:$PORT -> 10.1.0.2:$PORT"
  check "$proto: router holds both mappings" wait_rules 2 2
  check "$proto: hb reaches ha by direct TCP" direct tcp "$work/$proto.addr"
  check "$proto: hb reaches ha by direct UDP" direct udp "$work/$proto.addr"
  echo "     start_background_port_forwarding with $proto: $(phase_ms "$work/$proto.log") ms"
  stop_listener TERM
  check "$proto: close() removed the mappings from the router" wait_rules 0 2
  if [ "$proto" = upnp ]; then
    out=$("$LAB" exec ha -- timeout 10 upnpc -i -u http://10.1.0.1:2189/rootDesc.xml -l 2>&1 || true)
    check "upnp: upnpc -l lists no mapping of $PORT" not contains "$out" "$PORT"
  fi
done

# A 10 s lease: a node killed -9 removes nothing, the router drops the mapping when it ends.
printf '{"preset": "test", "port_mapping_lease_ms": 10000}\n' >"$work/short.json"
check "killed: listener with a 10 s lease starts" start_listener killed --natpmp --config "$work/short.json"
check "killed: router holds both mappings" wait_rules 2 2
stop_listener KILL
check "killed: mappings outlive the killed node" [ "$(router_rules)" = 2 ]
check "killed: mappings are gone within the lease (+3 s)" wait_rules 0 13

# Router restart: miniupnpd stops, its rules go as in a reboot (miniupnpd itself leaves them on
# SIGTERM), and it comes back with a fresh epoch (system_uptime=no: the epoch counts from its
# own start). Renewals every 5 s notice it.
check "restart: listener with a 10 s lease starts" start_listener restart --pcp --config "$work/short.json"
check "restart: router holds both mappings" wait_rules 2 2
kill -TERM "$(cat "$WG_LAB_RUN/miniupnpd-ra.pid")"
for chain in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do "$LAB" exec ra -- nft flush chain inet miniupnpd $chain; done
"$LAB" exec ra -- conntrack -F >/dev/null 2>&1 || true
check "restart: the restarted router has no mappings" wait_rules 0 3
sed 's/^system_uptime=yes/system_uptime=no/' "$WG_LAB_RUN/miniupnpd-ra.conf" >"$WG_LAB_RUN/miniupnpd-ra2.conf"
"$LAB" spawn ra miniupnpd-ra2 -- miniupnpd -d -f "$WG_LAB_RUN/miniupnpd-ra2.conf" -P "$WG_LAB_RUN/miniupnpd-ra2-own.pid"
check "restart: mappings restored within a renewal (+2 s)" wait_rules 2 8
check "restart: the node noticed the epoch reset" contains "$(cat "$work/restart.log")" "gateway restarted"
check "restart: hb reaches ha by direct TCP again" direct tcp "$work/restart.addr"
stop_listener TERM
check "restart: close() removed the restored mappings" wait_rules 0 2

# A router that answers nothing (its mapping ports silently dropped): start() waits at most
# port_mapping_timeout_ms for the three protocols together.
"$LAB" exec ra -- nft -f - <<'NFT'
table inet portmap_test {
  chain input {
    type filter hook input priority -10; policy accept;
    udp dport { 1900, 5351 } drop
    tcp dport 2189 drop
  }
}
NFT
printf '{"preset": "test", "port_mapping_timeout_ms": 1500}\n' >"$work/silent.json"
begin=$(date +%s%N)
check "silent: listener starts" start_listener silent --port-mapping any --config "$work/silent.json"
took=$((($(date +%s%N) - begin) / 1000000))
ms=$(phase_ms "$work/silent.log")
echo "     silent router: start_background_port_forwarding $ms ms, listener up after $took ms"
check "silent: nothing mapped" contains "$(cat "$work/silent.log")" "no port mapping"
check "silent: port mapping cost at most the 1500 ms timeout (+100 ms)" [ "${ms%.*}" -le 1600 ]
stop_listener TERM

[ "$FAILS" = 0 ] || { echo "--- connect stderr"; tail -n 20 "$work/connect.err"; for f in "$work"/*.log; do echo "--- $f"; tail -n 25 "$f"; done; }
lab_done
