#!/usr/bin/env bash
# Bench (not a CTest test; root): per ordered pair of NAT modes, the time from connect() to the
# first echoed message over a tcp_punch link (median of RUNS), next to what direct_connect
# alone does for the same pair (its time to the echo, or how long it took to give up).
#   sudo WG_LAB_TOOLS=build/tests/lab WARPGATE_BIN=build/apps tests/lab/bench_tcp_punch.sh
# RUNS (default 10) and MODES (default "none full-cone restricted port-restricted sequential")
# shorten it. The time is the winning attempt's start and duration plus the echo's round trip
# (connect --json: started_ms + ms + reply_ms), so node start-up (STUN, NTP) is left out.
. "$(dirname "$0")/testlib.sh"
lab_test bench_tcp_punch
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
MQTT=198.51.100.100:1883
RUNS=${RUNS:-10}
read -r -a MODES <<<"${MODES:-none full-cone restricted port-restricted sequential}"
work=$(mktemp -d /tmp/wg-tcp-punch-bench.XXXX)
trap 'rc=$?; rm -rf "$work"; (exit $rc); lab_finish' EXIT

# connect_ms PLUGIN: one connect from ha; prints the ms to the echo, or "fail:<ms spent>".
connect_ms() {
  local out
  out=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" --test --mqtt "$MQTT" --stun "$STUN" \
    --plugins "$1" --json --send bench --timeout 10 2>/dev/null) || true
  if jq -e '.reply' >/dev/null 2>&1 <<<"$out"; then
    jq -r '[.phases[].attempts[] | select(.won)][0] as $w | ($w.started_ms + $w.ms + .reply_ms) | . * 10 | round / 10' <<<"$out"
  else
    jq -r '"fail:" + ([.phases[].ms] | add // 0 | . * 10 | round / 10 | tostring)' <<<"$out" 2>/dev/null || echo "fail:?"
  fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

"$LAB" up --nat-a none --nat-b none >/dev/null
printf '%-16s %-16s %12s %6s %22s\n' "ha (initiator)" "hb (listener)" "punch ms" "ok" "direct_connect alone"
for a in "${MODES[@]}"; do
  "$LAB" set-nat ra "$a" >/dev/null
  for b in "${MODES[@]}"; do
    "$LAB" set-nat rb "$b" >/dev/null
    rm -f "$work/b.addr"
    "$LAB" exec hb -- env XDG_DATA_HOME="$work/b" "$WG" listen --test --mqtt "$MQTT" --stun "$STUN" --echo \
      --addr-out "$work/b.addr" >"$work/listen.log" 2>&1 &
    listener=$!
    for ((i = 0; i < 100; i++)); do [ -s "$work/b.addr" ] && break; sleep 0.1; done
    : >"$work/times"
    good=0
    for ((r = 0; r < RUNS; r++)); do
      t=$(connect_ms tcp_punch)
      case $t in fail:*) ;; *) echo "$t" >>"$work/times"; good=$((good + 1)) ;; esac
    done
    direct=$(connect_ms direct_connect)
    case $direct in fail:*) direct="gives up after ${direct#fail:} ms" ;; *) direct="echo after $direct ms" ;; esac
    printf '%-16s %-16s %12s %6s %22s\n' "$a" "$b" "$(median <"$work/times")" "$good/$RUNS" "$direct"
    kill -TERM "$listener" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
  done
done
ok "bench ran"
lab_done
