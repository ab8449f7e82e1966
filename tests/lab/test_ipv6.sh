#!/usr/bin/env bash
# IPv6 traversal end to end through the CLI (issue #22): hosts behind home routers' stateful
# IPv6 firewalls (no NAT, inbound only for established flows: lab.sh --ip6-X fw6) link by TCP
# simultaneous open and by UDP punching, each WG_IPV6_RUNS times (default 5); a direct dial
# reaches an open IPv6 host and not a firewalled one; auto_connect links two firewalled hosts
# over IPv6; a dual-stack pair whose IPv4 side is behind two port-restricted NATs links over
# IPv6 first (RFC 8305 head start); hosts behind NAT66 punch too; coturn relays over IPv6;
# `warpgate nat` names the IPv6 side. Each case reports its passes and the time to the first echoed message
# (with WG_IPV6_BENCH=FILE also as a JSON line per case in FILE: tests/lab/bench_ipv6.sh).
. "$(dirname "$0")/testlib.sh"
lab_test ipv6
. "$LAB_DIR/udp_punch_lib.sh" # start_listener, stop_listener (LISTEN_ARGS, STUN, MQTT), punch_work
RUNS=${WG_IPV6_RUNS:-5}
STUN4=$STUN
STUN="[2001:db8:100::100]:3478"
MQTT="[2001:db8:100::100]:1883"

# up ARGS...: a fresh lab (`up` empties the run folder, so the work folder is new too).
up() {
  stop_listener
  "$LAB" up "$@"
  punch_work
}

# restart_listener: hb listens anew (its address carries its side's NAT and firewall facts).
restart_listener() {
  stop_listener
  start_listener
}

# connect TEXT [ARGS...]: one `connect` from ha with the listener's servers, from a fresh
# port (no earlier flow's conntrack entry or TIME_WAIT helps or hurts) and with an identity
# of its own (the listener rate-limits punch offers per key: 8 in 10 s); its JSON in $OUT.
CONNECTS=0
connect() {
  local text=$1; shift
  CONNECTS=$((CONNECTS + 1))
  OUT=$("$LAB" exec ha -- env XDG_DATA_HOME="$PUNCH_WORK/a$CONNECTS" "$WG" connect "@$PUNCH_WORK/callee.addr" --test --stun "$STUN" \
    --mqtt "$MQTT" "${LISTEN_ARGS[@]}" --port 0 "$@" --json --send "$text" --timeout 10 2>"$PUNCH_WORK/connect.err") || true
}

# linked TEXT PLUGIN: the echo came back over an IPv6 attempt of PLUGIN.
linked() {
  jq -e --arg t "$1" --arg p "$2" '.reply == $t and .plugin == $p and (.attempt | test("IPv6"))' >/dev/null 2>&1 <<<"$OUT"
}

# json_has JSON FILTER: FILTER finds something true in JSON.
json_has() { jq -e "$2" >/dev/null 2>&1 <<<"$1"; }

# repeat LABEL PLUGIN [CONNECT ARGS...]: RUNS connects, one counted check for all of them
# (every run must link over IPv6, or NEED_V6 runs of them when set: then every run must
# still link, by either family); prints the passes and the time to the first echo
# (min/median/max ms, IPv6 links).
repeat() {
  local label=$1 plugin=$2 i pass=0 echoed=0 times=() exact=()
  shift 2
  for ((i = 1; i <= RUNS; i++)); do
    connect "$label $i" "$@"
    ! json_has "$OUT" ".reply == \"$label $i\"" || echoed=$((echoed + 1))
    if linked "$label $i" "$plugin"; then
      pass=$((pass + 1))
      times+=("$(jq -r '.first_echo_ms | round' <<<"$OUT")")
      exact+=("$(jq -r '.first_echo_ms' <<<"$OUT")")
    else
      echo "  run $i: no IPv6 link by $plugin:"
      jq -c '{plugin, attempt, reply, attempts: [.phases[]?.attempts[] | select(.started_ms) | [.attempt, .outcome, .started_ms, .ms]]}' <<<"$OUT" 2>/dev/null ||
        echo "$OUT" | head -n 20
      tail -n 5 "$PUNCH_WORK/connect.err"
    fi
  done
  local stats="-"
  [ "${#times[@]}" -eq 0 ] || stats=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%d/%d/%d", a[1], a[int((NR + 1) / 2)], a[NR]}')
  [ -z "${WG_IPV6_BENCH:-}" ] || printf '%s\n' "${exact[@]}" | jq -sc --arg c "$label" --argjson n "$RUNS" --argjson ok "$pass" \
    '{case: $c, runs: $n, linked: $ok, median_ms: (sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
      else (.[length / 2 - 1] + .[length / 2]) / 2 end), min_ms: min, max_ms: max}' >>"$WG_IPV6_BENCH"
  local need=${NEED_V6:-$RUNS} good=0
  [ "$pass" -lt "$need" ] || [ "$echoed" -ne "$RUNS" ] || good=1
  check "$label: $pass of $RUNS linked by $plugin over IPv6, $echoed of $RUNS echoed (first echo min/median/max $stats ms)" \
    [ "$good" = 1 ]
}

# Two IPv6-only hosts, each behind a stateful firewall.
up --ip6-a fw6 --ip6-b fw6 --v6-only-a --v6-only-b
NAT=$("$LAB" exec ha -- env XDG_DATA_HOME="$PUNCH_WORK/a" "$WG" nat --test --stun "$STUN" --json 2>/dev/null || true)
check "nat: ha's IPv6 side is a firewall that keeps ports" \
  json_has "$NAT" '.[] | select(.family == "IPv6" and .nat_type == "symmetric UDP firewall" and .mapping == "endpoint-independent")'
restart_listener || bad "the listener behind fw6 starts"
connect "dialled" --plugins direct_connect
check "fw6: a direct dial does not get in" not contains "$OUT" '"reply"'
repeat "fw6 x fw6 tcp_punch" tcp_punch --plugins tcp_punch
repeat "fw6 x fw6 udp_punch" udp_punch --transport udp --plugins udp_punch
repeat "fw6 x fw6 auto_connect" tcp_punch
repeat "fw6 x fw6 auto_connect udp" udp_punch --transport udp

# coturn over IPv6: a relayed link between the two firewalled hosts (the relayed addresses
# are IPv4: the turn plugin asks for that family, coturn relays between its own addresses).
LISTEN_ARGS=(--turn "$STUN" --turn-user test --turn-pass test)
restart_listener || bad "the listener with a TURN server starts"
connect "relayed" --transport udp --plugins turn
check "fw6 x fw6 turn over IPv6: a relayed link echoes" json_has "$OUT" '.reply == "relayed" and .relayed and (.attempt | test("2001:db8:100::100"))'
LISTEN_ARGS=()

# hb's router lets everything in: a direct dial reaches it.
"$LAB" set-ip6 rb open
restart_listener || bad "the open listener starts"
repeat "fw6 x open direct_connect" direct_connect --plugins direct_connect

# Dual stack: both IPv4 sides port-restricted, both IPv6 sides firewalled. Both families can
# punch; the IPv6 attempts' head start makes IPv6 win.
up --nat-a port-restricted --nat-b port-restricted --ip6-a fw6 --ip6-b fw6
LISTEN_ARGS=(--stun "$STUN4")
restart_listener || bad "the dual-stack listener starts"
# A race: IPv6 wins unless its punch takes a head start (250 ms) longer than IPv4's, which a
# loaded machine sees now and then (a simultaneous open whose first SYN met a closed firewall).
NEED_V6=$((RUNS - 1)) repeat "dual stack, IPv4 port-restricted x port-restricted, auto_connect" tcp_punch
# (not a race IPv6 wins by default: IPv4 was in it, planned to start after the head start)
check "dual stack: an IPv4 tcp_punch was planned behind the IPv6 one" \
  json_has "$OUT" '[.phases[].attempts[] | select(.attempt | test("tcp_punch TCP IPv4"))] | length > 0'
NEED_V6=$((RUNS - 1)) repeat "dual stack auto_connect udp" udp_punch --transport udp

# NAT66: ha's LAN is a ULA prefix masqueraded to its router's address.
up --ip6-a nat66 --ip6-b fw6 --v6-only-a --v6-only-b
LISTEN_ARGS=()
NAT=$("$LAB" exec ha -- env XDG_DATA_HOME="$PUNCH_WORK/a" "$WG" nat --test --stun "$STUN" --json 2>/dev/null || true)
check "nat: ha behind NAT66 is seen as a port-restricted NAT mapped to ra's address" \
  json_has "$NAT" '.[] | select(.family == "IPv6" and .nat_type == "port restricted" and (.external | startswith("[2001:db8:a::2]")))'
restart_listener || bad "the listener behind fw6 starts"
repeat "nat66 x fw6 tcp_punch" tcp_punch --plugins tcp_punch
repeat "nat66 x fw6 udp_punch" udp_punch --transport udp --plugins udp_punch
"$LAB" set-ip6 rb nat66
restart_listener || bad "the listener behind NAT66 starts"
repeat "nat66 x nat66 tcp_punch" tcp_punch --plugins tcp_punch
repeat "nat66 x nat66 udp_punch" udp_punch --transport udp --plugins udp_punch

lab_done
