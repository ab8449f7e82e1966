#!/usr/bin/env bash
# Bench (not a CTest test; root): per ordered pair of NAT modes, the time from connect() to the
# first echoed message over a udp_punch link (median of RUNS, node start-up left out), and how
# many runs linked. Pairs udp_punch declines (the relay's job) are listed as such.
#   sudo WG_LAB_TOOLS=build/tests/lab WARPGATE_BIN=build/apps tests/lab/bench_udp_punch.sh
# RUNS (default 5), MODES (default: all six) and UP (extra `lab.sh up` options, e.g.
# "--delay-a 20 --delay-b 20") shape it.
. "$(dirname "$0")/testlib.sh"
lab_test bench_udp_punch
. "$LAB_DIR/udp_punch_lib.sh"
RUNS_PER_PAIR=${RUNS:-5}
read -r -a MODES <<<"${MODES:-${PUNCH_MODES[*]}}"
# shellcheck disable=SC2086 # UP is a list of options
"$LAB" up ${UP:-} >/dev/null
punch_work
median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-16s %-16s %14s %6s\n' "ha (connects)" "hb (listens)" "echo after ms" "ok"
for b in "${MODES[@]}"; do
  "$LAB" set-nat rb "$b" >/dev/null
  start_listener || { bad "listener behind $b starts"; continue; }
  for a in "${MODES[@]}"; do
    "$LAB" set-nat ra "$a" >/dev/null
    if declined "$a" "$b"; then printf '%-16s %-16s %14s %6s\n' "$a" "$b" "declined" "-"; continue; fi
    times=()
    for ((r = 0; r < RUNS_PER_PAIR; r++)); do punch_once "bench" && times+=("$PUNCH_MS"); done
    printf '%-16s %-16s %14s %6s\n' "$a" "$b" "$(printf '%s\n' "${times[@]}" | grep . | median)" "${#times[@]}/$RUNS_PER_PAIR"
  done
  stop_listener
done
ok "bench ran"
lab_done
