#!/usr/bin/env bash
# reverse_connect end to end through the CLI: the callee (ha) sits behind a port-restricted
# NAT, the caller (hb) is public. direct_connect cannot reach ha; the caller asks it over the
# lab's MQTT broker to connect back, and auto_connect picks that pipe.
. "$(dirname "$0")/testlib.sh"
lab_test reverse_connect
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
MQTT=198.51.100.100:1883

"$LAB" up --nat-a port-restricted --nat-b none
work=$(mktemp -d "$WG_LAB_RUN/reverse.XXXX")
# Each host its own keys (XDG_DATA_HOME), so the two nodes have different identities.
"$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" listen --test --mqtt "$MQTT" --echo --addr-out "$work/callee.addr" \
  >"$work/listen.log" 2>&1 &
listener=$!
for ((i = 0; i < 100; i++)); do [ -s "$work/callee.addr" ] && break; sleep 0.1; done
check "callee writes its address" [ -s "$work/callee.addr" ]
check "callee is listening" contains "$(cat "$work/listen.log")" "listening on port"

out=$("$LAB" exec hb -- env XDG_DATA_HOME="$work/b" "$WG" connect "@$work/callee.addr" --test --mqtt "$MQTT" --json \
  --send "through the reversed pipe" --timeout 10 2>"$work/connect.err") || true
echo "$out" | head -n 40
check "connect succeeds and gets the echo" contains "$out" '"reply": "through the reversed pipe"'
check "reverse_connect won the race" contains "$out" '"plugin": "reverse_connect"'
check "direct_connect was tried too and lost" contains "$out" '"attempt": "direct_connect'

kill -TERM "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
# The callee dialed the caller's public address itself: its log names that address.
check "callee dialed the caller and echoed" contains "$(cat "$work/listen.log")" "link from $("$LAB" ip hb | sed 's/\./\\./g'):"
[ "$FAILS" = 0 ] || { echo "--- connect stderr"; tail -n 30 "$work/connect.err"; echo "--- listen log"; tail -n 30 "$work/listen.log"; }
lab_done
