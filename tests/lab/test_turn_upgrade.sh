#!/usr/bin/env bash
# Relay first, direct later (issue #16): a pair that can punch (port-restricted x
# port-restricted, then full cone x port-restricted) with TURN configured. The lab's wan drops
# every datagram between the two routers until the link is up, so the relay wins the race
# (the punch's first probes lost, as on a slow or lossy path); then the direct path opens and
# auto_connect's leave_relay must move the link onto it within 2 s. `connect --repeat`
# streams numbered messages through the move: every echo arrives once, in order, and the
# listener saw each once, in order. Once the link says it moved, coturn is cut off: the rest
# of the stream can only travel direct. A capture in wan (coturn's namespace) holds relayed
# traffic but no plaintext of the messages.
. "$(dirname "$0")/testlib.sh"
lab_test turn_upgrade
need_warpgate
need_tcpdump
LISTEN_FLAGS=(--test --mqtt "$MQTT" --stun "$STUN" "${LAB_TURN[@]}")
RUNS=${WG_UPGRADE_RUNS:-10}   # per NAT pair
MESSAGES=60                   # one every 50 ms: 3 s of stream, the move inside it
BUDGET_MS=2000                # link to direct
work=$(mktemp -d /tmp/wg-turn-upgrade.XXXX)
trap 'rc=$?; rm -rf "$work"; (exit $rc); lab_finish' EXIT

# direct_blocked on|off: wan drops (or passes again) UDP between the routers' WAN addresses.
# coturn (198.51.100.100) and the broker stay reachable.
direct_blocked() {
  local op=-I ra rb
  [ "$1" = on ] || op=-D
  ra=$("$LAB" ip ra) rb=$("$LAB" ip rb)
  "$LAB" exec wan -- iptables -w "$op" FORWARD -p udp -s "$ra" -d "$rb" -j DROP
  "$LAB" exec wan -- iptables -w "$op" FORWARD -p udp -s "$rb" -d "$ra" -j DROP
}

# relay_cut on|off: coturn's namespace drops what arrives for its TURN port and relay ports.
relay_cut() {
  local op=-I
  [ "$1" = on ] || op=-D
  "$LAB" exec wan -- iptables -w "$op" INPUT -p udp -d 198.51.100.100 --dport 3478 -j DROP
  "$LAB" exec wan -- iptables -w "$op" INPUT -p udp -d 198.51.100.100 --dport 49152:49999 -j DROP
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches (polled every 10 ms).
wait_for() {
  local i
  for ((i = 0; i < $3 * 100; i++)); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.01; done
  return 1
}

# in_order FILE TEXT: the numbers of "TEXT #n" in FILE are exactly 1..MESSAGES, once each, in order.
in_order() {
  diff <(grep -oE -- "$2 #[0-9]+" "$1" | sed 's/.*#//') <(seq 1 "$MESSAGES") >/dev/null
}

MOVE_MS=()
# upgrade_run LABEL TEXT: one link from ha with the direct path blocked until it is up.
upgrade_run() {
  local label=$1 text=$2 out=$work/connect.out err=$work/connect.err pid ms fine=1
  rm -f "$out" "$err"  # (wait_for must not find the last run's "connected (")
  direct_blocked on
  # A fresh local port per run: no 4-tuple of the previous run's direct path in the NATs.
  "$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" --test --mqtt "$MQTT" --stun "$STUN" \
    "${LAB_TURN[@]}" --port 0 --transport udp --send "$text" --repeat "$MESSAGES" --interval 50 --timeout 10 -v >"$out" 2>"$err" &
  pid=$!
  if ! wait_for "$out" '^connected [(]' 15; then
    direct_blocked off; wait "$pid" || true
    bad "$label: no link"; tail -n 20 "$err"; return
  fi
  direct_blocked off
  if ! grep -qE '^connected [(]turn,' "$out"; then
    fine=0; bad "$label: the relay won the race ($(grep '^connected [(]' "$out"))"
  fi
  if wait_for "$err" 'left the relay after' 5; then
    sleep 0.2  # records already on their way through the relay land first
    relay_cut on
  fi
  wait "$pid" || true
  relay_cut off 2>/dev/null || true
  ms=$(grep -oE 'left the relay after [0-9]+ ms' "$err" | grep -oE '[0-9]+' | head -n 1 || true)
  if [ -z "$ms" ]; then
    fine=0; bad "$label: the link left the relay"; grep -E 'relay|mov|udp_punch' "$err" | grep -v '\[debug\]' | tail -n 12
  elif [ "$ms" -gt "$BUDGET_MS" ]; then
    fine=0; bad "$label: on a direct path within $BUDGET_MS ms (took $ms ms)"
  fi
  if ! in_order "$out" "$text"; then
    fine=0; bad "$label: every echo once and in order"; grep -E "^reply|sent," "$out" | tail -n 5
  fi
  if ! in_order "$work/listen.log" "$text"; then
    fine=0; bad "$label: the listener got every message once and in order"
  fi
  if [ "$fine" = 1 ]; then
    MOVE_MS+=("$ms")
    ok "$label: relayed first, direct after $ms ms ($(grep -oE 'reached .*' "$err" | head -n 1)), $MESSAGES/$MESSAGES echoes in order, the last ones with coturn cut off"
  fi
}

# upgrade_pair MODE_A MODE_B: the plain punch reference, then RUNS upgrades.
upgrade_pair() {
  expect_punch success "$1" "$2"
  if ! start_listener; then
    bad "$1 x $2: the listener did not start"; tail -n 5 "$work/listen.log"; return
  fi
  local run
  for ((run = 1; run <= RUNS; run++)); do upgrade_run "$1 x $2, run $run" "upgrade $1 $2 $run"; done
  stop_listener
}

"$LAB" up --nat-a port-restricted --nat-b port-restricted
# The first run is captured in wan: coturn and its relay ports carry the stream, never its text.
"$LAB" exec wan -- timeout -s INT 12 tcpdump -i any -n -U -s 0 -w "$work/wan.pcap" >"$work/tcpdump.log" 2>&1 &
TCPDUMP=$!
for ((i = 0; i < 50; i++)); do grep -qs "listening on" "$work/tcpdump.log" && break; sleep 0.1; done
upgrade_pair port-restricted port-restricted
wait "$TCPDUMP" 2>/dev/null || true
relay_packets=$(tcpdump -n -r "$work/wan.pcap" 'udp and (port 3478 or portrange 49152-49999)' 2>/dev/null | wc -l)
check "the capture holds relayed traffic ($relay_packets packets to coturn and its relay ports)" test "$relay_packets" -gt 10
plain=$(grep -c -a -- "upgrade port-restricted" "$work/wan.pcap" || true)
check "the capture holds no plaintext of the messages ($plain hits)" test "$plain" -eq 0

upgrade_pair full-cone port-restricted

if [ "${#MOVE_MS[@]}" -gt 0 ]; then
  sorted=$(printf '%s\n' "${MOVE_MS[@]}" | sort -n)
  echo "link to direct: ${#MOVE_MS[@]} upgrades, median $(sed -n "$(((${#MOVE_MS[@]} + 1) / 2))p" <<<"$sorted") ms," \
    "min $(head -n 1 <<<"$sorted") ms, max $(tail -n 1 <<<"$sorted") ms"
fi
lab_done
