#!/usr/bin/env bash
# The turn plugin over TCP (RFC 6062) end to end through the CLI, between two random symmetric
# NATs: `warpgate listen --turn ... --turn-transport tcp --echo` on hb holds a TCP allocation
# on the lab's coturn, `warpgate connect --transport tcp --plugins turn` from ha connects to
# its relayed address and gets its echo on a relayed TCP link. A capture in the wan namespace
# (coturn, the broker) holds the relayed stream but no plaintext of the message. WG_LAB_RUNS
# (default 3) links in all, paced under the callee's offer rate limit; the median time to
# the first echo is printed.
. "$(dirname "$0")/testlib.sh"
lab_test turn_tcp
need_warpgate
need_tcpdump
RUNS=${WG_LAB_RUNS:-3}
LISTEN_FLAGS=(--test --mqtt "$MQTT" --stun "$STUN" "${LAB_TURN[@]}" --turn-transport tcp)
work=$(mktemp -d /tmp/wg-turn-tcp.XXXX)
trap 'rc=$?; rm -rf "$work"; (exit $rc); lab_finish' EXIT

# connect_tcp TEXT [ARGS...]: one TCP `connect` from ha through coturn over TCP; JSON in $OUT.
connect_tcp() {
  local text=$1; shift
  OUT=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" --test --mqtt "$MQTT" --stun "$STUN" \
    "${LAB_TURN[@]}" --turn-transport tcp --transport tcp "$@" --json --send "$text" --timeout 10 2>"$work/connect.err") || true
}
show() { echo "$OUT" | head -n 30; tail -n 8 "$work/connect.err"; tail -n 8 "$work/listen.log"; }
tcp_relayed() {
  contains "$OUT" "\"reply\": \"$1\"" && jq -e '.plugin == "turn" and .relayed == true and (.attempt | startswith("turn TCP"))' \
    >/dev/null 2>&1 <<<"$OUT"
}

"$LAB" up --nat-a symmetric --nat-b symmetric
if ! start_listener; then
  bad "the listener did not start"; tail -n 5 "$work/listen.log"; lab_done
fi

# The first link under a capture of everything wan sees.
secret="plaintext-canary-$RANDOM$RANDOM"
"$LAB" exec wan -- timeout -s INT 8 tcpdump -i any -n -U -s 0 -w "$work/wan.pcap" >"$work/tcpdump.log" 2>&1 &
TCPDUMP=$!
for ((i = 0; i < 50; i++)); do grep -qs "listening on" "$work/tcpdump.log" && break; sleep 0.1; done
echoes=()
linked=0
for ((run = 1; run <= RUNS; run++)); do
  # The callee answers 8 offers per 10 s from one key (TurnPluginOptions::offers_per_key).
  [ "$run" = 1 ] || sleep 1.3
  text="over the tcp relay $run"
  [ "$run" = 1 ] && text=$secret
  connect_tcp "$text" --plugins turn
  if tcp_relayed "$text"; then
    linked=$((linked + 1))
    echoes+=("$(jq -r '.first_echo_ms | floor' <<<"$OUT")")
  else
    show
  fi
  [ "$run" = 1 ] && { wait "$TCPDUMP" 2>/dev/null || true; }
done
median=$(printf '%s\n' "${echoes[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "none")}')
check "random symmetric x random symmetric over TCP, --plugins turn: $linked/$RUNS relayed TCP links echo (median first echo $median ms)" \
  test "$linked" -eq "$RUNS"

relay_packets=$(tcpdump -n -r "$work/wan.pcap" 'tcp and portrange 49152-49999' 2>/dev/null | wc -l)
if [ "$relay_packets" -gt 5 ]; then
  ok "the capture holds the relayed stream ($relay_packets TCP packets to coturn's relay ports)"
else
  bad "the capture holds the relayed stream ($relay_packets packets)"
  cat "$work/tcpdump.log"; tcpdump -n -r "$work/wan.pcap" 2>&1 | head -n 5
fi
plain=$(grep -c -a -- "$secret" "$work/wan.pcap" || true)
check "the capture holds no plaintext of the message ($plain hits)" test "$plain" -eq 0

stop_listener
lab_done
