#!/usr/bin/env bash
# The turn plugin end to end through the CLI, between two random symmetric NATs (no punch can
# meet): `warpgate listen --turn ... --echo` on hb, `warpgate connect --plugins turn` from ha
# gets its echo on a relayed link; auto_connect without --plugins wins with turn; a capture of
# everything the wan namespace (coturn, the broker) sees holds no plaintext of the message;
# a side whose router drops all UDP still links through coturn over TCP.
. "$(dirname "$0")/testlib.sh"
lab_test turn
need_warpgate
need_tcpdump
LISTEN_FLAGS=(--test --mqtt "$MQTT" --stun "$STUN" "${LAB_TURN[@]}")
work=$(mktemp -d /tmp/wg-turn.XXXX)
trap 'rc=$?; rm -rf "$work"; (exit $rc); lab_finish' EXIT

# connect_udp TEXT [ARGS...]: one UDP `connect` from ha with the TURN flags (and ARGS); its
# JSON in $OUT.
connect_udp() {
  local text=$1; shift
  OUT=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" --test --mqtt "$MQTT" --stun "$STUN" \
    "${LAB_TURN[@]}" --transport udp "$@" --json --send "$text" --timeout 10 2>"$work/connect.err") || true
}

won_by() { jq -e --arg p "$1" '.plugin == $p' >/dev/null 2>&1 <<<"$OUT"; }
relayed() { jq -e '.relayed == true' >/dev/null 2>&1 <<<"$OUT"; }
echo_ms() { jq -r '.first_echo_ms | floor' 2>/dev/null <<<"$OUT"; }
show() { echo "$OUT" | head -n 30; tail -n 8 "$work/connect.err"; tail -n 8 "$work/listen.log"; }

# relayed_case LABEL TEXT [ARGS...]: a relayed link won by turn, with the echo of TEXT.
relayed_case() {
  local label=$1 text=$2; shift 2
  connect_udp "$text" "$@"
  if contains "$OUT" "\"reply\": \"$text\"" && won_by turn && relayed; then
    ok "$label: turn links, relayed, and echoes (first echo after $(echo_ms) ms)"
  else
    bad "$label: turn links, relayed, and echoes"; show
  fi
}

"$LAB" up --nat-a symmetric --nat-b symmetric
if ! start_listener; then
  bad "the listener did not start"; tail -n 5 "$work/listen.log"; lab_done
fi

relayed_case "random symmetric x random symmetric, --plugins turn" "relayed hello" --plugins turn

# Without --plugins the race finds nothing else that can work here: the relay wins.
relayed_case "random symmetric x random symmetric, auto_connect" "raced to the relay"
direct_verdict() { jq -r '.plugins[] | select(.plugin == "direct_connect") | .verdict' 2>/dev/null <<<"$OUT"; }
check "auto_connect: direct_connect could not win here ($(direct_verdict))" contains "$(direct_verdict)" '^(declined|skipped|failed|lost)$'

# What the relay and the broker see: ciphertext only. The capture must hold the relayed
# traffic itself (coturn's port and its relay ports), or it proves nothing.
secret="plaintext-canary-$RANDOM$RANDOM"
# (tcpdump ends by itself: a signal to `lab.sh exec` would not reach it inside the namespace.)
"$LAB" exec wan -- timeout -s INT 8 tcpdump -i any -n -U -s 0 -w "$work/wan.pcap" >"$work/tcpdump.log" 2>&1 &
TCPDUMP=$!
for ((i = 0; i < 50; i++)); do grep -qs "listening on" "$work/tcpdump.log" && break; sleep 0.1; done
relayed_case "captured link" "$secret" --plugins turn
wait "$TCPDUMP" 2>/dev/null || true
relay_packets=$(tcpdump -n -r "$work/wan.pcap" 'udp and (port 3478 or portrange 49152-49999)' 2>/dev/null | wc -l)
if [ "$relay_packets" -gt 10 ]; then
  ok "the capture holds the relayed traffic ($relay_packets packets to coturn and its relay ports)"
else
  bad "the capture holds the relayed traffic ($relay_packets packets)"
  cat "$work/tcpdump.log"; ls -l "$work/wan.pcap"; tcpdump -n -r "$work/wan.pcap" 2>&1 | head -n 5
fi
plain=$(grep -c -a -- "$secret" "$work/wan.pcap" || true)
check "the capture holds no plaintext of the message ($plain hits)" test "$plain" -eq 0
check "the message itself did travel (the echo came back)" contains "$OUT" "\"reply\": \"$secret\""

# A network that drops all UDP: ha reaches coturn over TCP; hb stays on UDP.
"$LAB" exec ra -- iptables -I FORWARD -p udp -j DROP
connect_udp "no udp here" --plugins turn --turn-transport udp
check "UDP dropped at ra: turn over UDP cannot allocate" not contains "$OUT" '"reply"'
relayed_case "UDP dropped at ra, --turn-transport tcp" "over tcp to the relay" --plugins turn --turn-transport tcp
"$LAB" exec ra -- iptables -D FORWARD -p udp -j DROP

stop_listener
lab_done
