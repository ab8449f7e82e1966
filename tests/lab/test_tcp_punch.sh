#!/usr/bin/env bash
# tcp_punch end to end through the CLI: `warpgate listen` on hb, `warpgate connect --plugins
# tcp_punch` from ha, for every ordered pair of NAT modes a punch can serve (none, full cone,
# restricted, port-restricted, sequential symmetric; for TCP the cone modes filter by port,
# the lab's routers drop unsolicited inbound), then through a carrier-grade NAT and over
# 20 ms of delay per router; a random symmetric NAT is declined up front with the reason.
. "$(dirname "$0")/testlib.sh"
lab_test tcp_punch
need_warpgate
LISTEN_FLAGS=(--test --mqtt "$MQTT" --stun "$STUN")
MODES=(none full-cone restricted port-restricted sequential)
work=$(mktemp -d /tmp/wg-tcp-punch.XXXX)
trap 'rc=$?; rm -rf "$work"; (exit $rc); lab_finish' EXIT

# connect_punch TEXT [ARGS...]: one `connect --plugins tcp_punch` (or ARGS) from ha; its JSON in $OUT.
connect_punch() {
  local text=$1; shift
  [ $# -gt 0 ] || set -- --plugins tcp_punch
  # A fresh local port per case: the last case's connection to the same predicted port (the
  # sequential NAT's counter restarts with set-nat) may still sit in TIME_WAIT on the
  # derived port, and the kernel refuses that 4-tuple for a minute.
  OUT=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" --test --mqtt "$MQTT" --stun "$STUN" \
    --port 0 "$@" --json --send "$text" --timeout 10 2>"$work/connect.err") || true
}

# punch_case LABEL: a listener, a punched link, the echo.
punch_case() {
  if ! start_listener; then
    bad "$1: the listener did not start"; tail -n 5 "$work/listen.log"; stop_listener; return
  fi
  connect_punch "punched $1"
  if contains "$OUT" "\"reply\": \"punched $1\"" && won_by tcp_punch; then
    ok "$1: tcp_punch links and echoes"
  else
    bad "$1: tcp_punch links and echoes"
    echo "$OUT" | head -n 30; tail -n 8 "$work/connect.err"; tail -n 8 "$work/listen.log"
  fi
  stop_listener
}

won_by() { jq -e --arg p "$1" '.plugin == $p' >/dev/null 2>&1 <<<"$OUT"; }
declined_as_random() { contains "$OUT" '"verdict": "(declined|skipped)"' && contains "$OUT" 'random symmetric'; }

"$LAB" up --nat-a none --nat-b none
for a in "${MODES[@]}"; do
  "$LAB" set-nat ra "$a" >/dev/null
  for b in "${MODES[@]}"; do
    "$LAB" set-nat rb "$b" >/dev/null
    punch_case "$a x $b"
  done
done

# A random symmetric NAT on either side: declined before anything is sent, with why.
for side in ra rb; do
  "$LAB" set-nat ra port-restricted >/dev/null
  "$LAB" set-nat rb port-restricted >/dev/null
  "$LAB" set-nat "$side" symmetric >/dev/null
  start_listener || bad "symmetric at $side: the listener did not start"
  connect_punch "not punched"
  check "symmetric at $side: no link" not contains "$OUT" '"reply"'
  check "symmetric at $side: tcp_punch declined, saying the ports are random" declined_as_random
  stop_listener
done

# Without --plugins, auto_connect races tcp_punch in its punch phase: here the direct phase
# has nothing it could win (both sides filter), so the punch starts at once and wins.
"$LAB" set-nat ra port-restricted >/dev/null
"$LAB" set-nat rb sequential >/dev/null
if start_listener; then
  connect_punch "raced" --transport tcp
  check "auto_connect: the echo over the raced link" contains "$OUT" '"reply": "raced"'
  check "auto_connect: tcp_punch won its punch phase" won_by tcp_punch
  contains "$OUT" '"reply": "raced"' || { echo "$OUT" | head -n 40; tail -n 8 "$work/listen.log"; }
else
  bad "auto_connect: the listener did not start"
fi
stop_listener

"$LAB" up --cgnat-a --nat-a port-restricted --nat-b sequential
punch_case "carrier NAT then port-restricted x sequential"

"$LAB" up --nat-a port-restricted --nat-b sequential --delay-a 20 --delay-b 20
punch_case "20 ms per router, port-restricted x sequential"

lab_done
