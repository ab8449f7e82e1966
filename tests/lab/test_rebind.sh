#!/usr/bin/env bash
# NAT rebinding under a live UDP link (issue 11): ha, behind a port-restricted NAT, keeps one
# link to a public listener in wan and sends a message every 200 ms. Mid-link its router
# forgets every mapping (conntrack -F) and maps new flows to other ports (SNAT to 20000-20099,
# far from the ephemeral range the first mapping keeps). The listener must authenticate the
# next record from the new external port, move the session there and go on echoing; the
# client must see the echoes resume and no error.
. "$(dirname "$0")/testlib.sh"
lab_test rebind
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
SERVER_IP=198.51.100.103
SERVER_PORT=7000
COUNT=30          # messages, one every INTERVAL ms: 6 s of link
INTERVAL=200
REBIND_AT=2.5     # seconds into the link
NEW_PORTS=20000-20099

"$LAB" up --nat-a port-restricted --nat-b none --no-servers
work=$(mktemp -d "$WG_LAB_RUN/rebind.XXXX")
# Keepalives every 300 ms: an idle side's refresh would show within a fraction of a second.
echo '{"preset": "test", "keepalive_interval_ms": 300}' >"$work/config.json"

"$LAB" exec wan -- env XDG_DATA_HOME="$work/listener" "$WG" listen --config "$work/config.json" -v --ip "$SERVER_IP" \
  --port "$SERVER_PORT" --echo --addr-out "$work/listener.addr" >"$work/listen.log" 2>&1 &
listener=$!
for ((i = 0; i < 100; i++)); do [ -s "$work/listener.addr" ] && break; sleep 0.1; done
check "listener writes its address" [ -s "$work/listener.addr" ]

"$LAB" exec ha -- env XDG_DATA_HOME="$work/client" "$WG" connect "@$work/listener.addr" --config "$work/config.json" \
  --port 0 --transport udp --send tick --repeat "$COUNT" --interval "$INTERVAL" --timeout 5 \
  >"$work/connect.out" 2>"$work/connect.err" &
client=$!
sleep "$REBIND_AT"
# The router forgets every mapping, and the next UDP one gets a port from another range.
check "router ra changes its SNAT ports and forgets every mapping" "$LAB" exec ra -- sh -c \
  "iptables -t nat -I POSTROUTING 1 -s 10.1.0.0/24 -o wan0 -p udp -j SNAT --to-source $("$LAB" ip ra):$NEW_PORTS &&
   conntrack -F 2>/dev/null"
rc=0
wait "$client" || rc=$?
cat "$work/connect.out"
kill -TERM "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true

out=$(cat "$work/connect.out")
log=$(cat "$work/listen.log")
check "the client's link never failed (exit $rc, no error)" [ "$rc" = 0 ]
check "the client's stderr is clean" not grep -qiE 'error|closed|fail' "$work/connect.err"
replies=$(grep -c '^reply: tick #' <<<"$out" || true)
# 30 messages over 6 s; the rebind may cost the few sent before the listener hears the new port.
check "the client got $replies of $COUNT echoes (at least $((COUNT - 5)))" [ "$replies" -ge $((COUNT - 5)) ]
check "the last message was echoed" contains "$out" "^reply: tick #$COUNT "
gap=$(sed -n 's/.*longest silence \([0-9]*\) ms/\1/p' <<<"$out")
echo "longest silence between echoes: ${gap:-?} ms"
check "the echoes resumed within 2 s of the rebind (longest silence ${gap:-?} ms)" [ "${gap:-99999}" -lt 2000 ]

# "link to ID moved: udp S -> 198.51.100.2:OLD is now udp S -> 198.51.100.2:NEW"
moved=$(grep -m1 ' moved: ' <<<"$log" || true)
echo "listener: ${moved:-no move logged}"
check "the listener moved the link" [ -n "$moved" ]
old_port=$(sed -n 's/.* moved: .*:\([0-9]*\) is now .*/\1/p' <<<"$moved")
new_port=$(sed -n 's/.* is now .*:\([0-9]*\)$/\1/p' <<<"$moved")
echo "external port: old ${old_port:-?}, new ${new_port:-?}"
check "the new external port differs from the old one" [ -n "$old_port" -a -n "$new_port" -a "$old_port" != "$new_port" ]
check "the new external port comes from the new SNAT range" [ "${new_port:-0}" -ge 20000 -a "${new_port:-0}" -le 20099 ]
check "the listener saw one link, never a second one" [ "$(grep -c '^link from .*(UDP)$' <<<"$log")" = 1 ]
check "the listener's link did not end before the client closed it" not grep -qE 'ended: .*(timeout|dead|auth)' <<<"$log"
[ "$FAILS" = 0 ] || { echo "--- connect stderr"; tail -n 30 "$work/connect.err"; echo "--- listen log"; tail -n 40 "$work/listen.log"; }
lab_done
