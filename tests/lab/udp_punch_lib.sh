# shellcheck shell=bash
# Sourced by the udp_punch lab tests (after testlib.sh and lab_test): a warpgate listener on
# hb, `connect --transport udp --plugins udp_punch` from ha with an echo, per NAT pair.
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
MQTT=198.51.100.100:1883
PUNCH_MODES=(none full-cone restricted port-restricted sequential symmetric)
LISTENER=
PUNCH_COUNT=0

punch_work() { PUNCH_WORK=$(mktemp -d "$WG_LAB_RUN/udp_punch.XXXX"); }

# start_listener: hb listens (UDP and TCP), echoing; its address in $PUNCH_WORK/callee.addr.
# LISTEN_ARGS: more options (--port 0: a fresh port, so no mapping of an earlier run helps).
LISTEN_ARGS=()
start_listener() {
  rm -f "$PUNCH_WORK/callee.addr"
  "$LAB" exec hb -- env XDG_DATA_HOME="$PUNCH_WORK/b" "$WG" listen --test "${LISTEN_ARGS[@]}" --stun "$STUN" --mqtt "$MQTT" --echo \
    --addr-out "$PUNCH_WORK/callee.addr" >>"$PUNCH_WORK/listen.log" 2>&1 &
  LISTENER=$!
  local i
  for ((i = 0; i < 200; i++)); do [ -s "$PUNCH_WORK/callee.addr" ] && return 0; sleep 0.1; done
  echo "the listener wrote no address:"; tail -n 20 "$PUNCH_WORK/listen.log"
  return 1
}

stop_listener() {
  [ -n "$LISTENER" ] || return 0
  kill -TERM "$LISTENER" 2>/dev/null || true
  wait "$LISTENER" 2>/dev/null || true
  LISTENER=
}

# punch_once LABEL: one connect from ha (-v: its log names the records sent), from a fresh
# listen port each time: the listener's NAT keeps its mapping towards an endpoint it already
# punched to (a conntrack entry lives 120 s), and a sequential NAT's port for it is then an old
# one that no prediction names. 0 when udp_punch
# linked and the echo came back. Sets PUNCH_OUT (its JSON), PUNCH_ERR (its log), PUNCH_MS (from
# connect() to the first echoed message: the winning attempt's start and duration plus the
# echo's round trip, node start-up left out), PUNCH_WALL_MS (the whole command).
punch_once() {
  PUNCH_COUNT=$((PUNCH_COUNT + 1))
  local begin end echo=(--json --send "punched $1")
  # Under loss one echo may be lost after the link is up: PUNCH_REPEAT messages then, 300 ms apart.
  [ "${PUNCH_REPEAT:-1}" -gt 1 ] && echo=(--send "punched $1" --repeat "$PUNCH_REPEAT" --interval 300)
  begin=$(date +%s%N)
  PUNCH_OUT=$("$LAB" exec ha -- env XDG_DATA_HOME="$PUNCH_WORK/a" "$WG" connect "@$PUNCH_WORK/callee.addr" --test --port 0 \
    --stun "$STUN" --mqtt "$MQTT" --transport udp --plugins udp_punch -v "${echo[@]}" --timeout 25 2>"$PUNCH_WORK/connect.$PUNCH_COUNT.err") || true
  end=$(date +%s%N)
  PUNCH_WALL_MS=$(((end - begin) / 1000000))
  PUNCH_ERR=$(grep -E "udp_punch|error" "$PUNCH_WORK/connect.$PUNCH_COUNT.err" || true)
  if [ "${PUNCH_REPEAT:-1}" -gt 1 ]; then
    PUNCH_MS=$(grep -oE 'spray phase: [0-9.]+ ms' <<<"$PUNCH_OUT" | grep -oE '[0-9.]+' | head -n 1)
    contains "$PUNCH_OUT" "connected [(]udp_punch," && contains "$PUNCH_OUT" "reply: punched $1"
    return
  fi
  PUNCH_MS=$(jq -r '[.phases[].attempts[] | select(.won)][0] as $w | ($w.started_ms + $w.ms + .reply_ms) | round' <<<"$PUNCH_OUT" 2>/dev/null || echo "-")
  contains "$PUNCH_OUT" "\"reply\": \"punched $1\"" && contains "$PUNCH_OUT" '"plugin": "udp_punch"'
}

# declined MODE_A MODE_B: pairs udp_punch refuses up front (the relay's job).
declined() {
  case "$1:$2" in symmetric:symmetric | symmetric:sequential | sequential:symmetric) return 0 ;; esac
  return 1
}

# punch_pair MODE_A MODE_B WHAT: one counted check; a declined pair must fail at once, saying why.
punch_pair() {
  local a=$1 b=$2 what=$3
  if declined "$a" "$b"; then
    if ! punch_once "$a-$b" && contains "$PUNCH_OUT$PUNCH_ERR" "relay"; then ok "$what $a x $b: declined up front ($PUNCH_WALL_MS ms in all)"
    else bad "$what $a x $b: expected a decline naming the relay; got: $(echo "$PUNCH_OUT" | head -c 400)"; fi
    return
  fi
  if punch_once "$a-$b"; then
    local took="echo after $PUNCH_MS ms"
    [ "${PUNCH_REPEAT:-1}" -gt 1 ] && took="spray phase $PUNCH_MS ms, echoed"
    ok "$what $a x $b: $took ($(grep -oE '[0-9]+ (records sent from the listen socket|sockets, [0-9]+ records sent)' <<<"$PUNCH_ERR" | head -n 1))"
  else
    bad "$what $a x $b: no link ($PUNCH_WALL_MS ms in all)"
    echo "$PUNCH_OUT" | head -n 30
    tail -n 10 <<<"$PUNCH_ERR"
    tail -n 10 "$PUNCH_WORK/listen.log"
  fi
}

# punch_matrix WHAT [PAIRS...]: every ordered pair of the lab's modes but symmetric x symmetric
# (or the "a:b" pairs given), the listener restarted whenever hb's NAT changes.
punch_matrix() {
  local what=$1 a b pair
  shift
  local pairs=("$@")
  if [ ${#pairs[@]} -eq 0 ]; then
    for b in "${PUNCH_MODES[@]}"; do
      for a in "${PUNCH_MODES[@]}"; do [ "$a:$b" = symmetric:symmetric ] || pairs+=("$a:$b"); done
    done
  fi
  local current_b=
  for pair in "${pairs[@]}"; do
    a=${pair%%:*} b=${pair##*:}
    if [ "$b" != "$current_b" ]; then
      stop_listener
      "$LAB" set-nat rb "$b"
      start_listener || { bad "$what listener behind $b NAT starts"; continue; }
      current_b=$b
    fi
    "$LAB" set-nat ra "$a"
    punch_pair "$a" "$b" "$what"
  done
  stop_listener
}
