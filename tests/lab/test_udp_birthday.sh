#!/usr/bin/env bash
# Birthday probing: port-restricted cone x random symmetric, both ways, 20 runs each. Passes
# when each direction links in at least 19 of 20; prints the count, the median time from
# connect() to the first echoed message (node start-up left out), the median time from the
# instant to the hard side's lock, and the median records the easy side sent.
. "$(dirname "$0")/testlib.sh"
lab_test udp_birthday
. "$LAB_DIR/udp_punch_lib.sh"
"$LAB" up
punch_work
RUNS_PER_WAY=${WG_BIRTHDAY_RUNS:-20}

median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Each run with fresh ports on both sides (the connect side's always, the listener restarted
# with --port 0): an easy side's earlier sweep leaves ~1,700 holes in its NAT for 30 s, and a
# hard side's new flow landing in one would be a hit that proves nothing.
LISTEN_ARGS=(--port 0)
birthday_way() { # MODE_A MODE_B
  local a=$1 b=$2 won=0 i times=() punch_times=() sent=() both
  "$LAB" set-nat rb "$b"
  "$LAB" set-nat ra "$a"
  for ((i = 1; i <= RUNS_PER_WAY; i++)); do
    start_listener || { bad "birthday $a x $b: listener starts"; continue; }
    if punch_once "birthday-$i"; then
      won=$((won + 1))
      times+=("$PUNCH_MS")
    else
      echo "run $i of $a x $b failed:"; grep -E "udp_punch|error" <<<"$PUNCH_ERR" | tail -n 5
    fi
    # The side behind the symmetric NAT logs its fan; the easy side its sweep.
    stop_listener
    both="$PUNCH_ERR"$'\n'"$(tail -n 20 "$PUNCH_WORK/listen.log")"
    punch_times+=("$(grep -o 'birthday hard side: .* after [0-9]* ms' <<<"$both" | tail -n 1 | grep -o '[0-9]* ms$' | cut -d' ' -f1)")
    sent+=("$(grep -o 'udp_punch: [0-9]* records sent from the listen socket' <<<"$both" | tail -n 1 | grep -o '[0-9]*' | head -n 1)")
  done
  echo "birthday $a x $b: linked $won of $RUNS_PER_WAY; median time to the echo $(printf '%s\n' "${times[@]}" | median) ms;" \
    "median punch (hard side, from the schedule to its lock) $(printf '%s\n' "${punch_times[@]}" | grep . | median) ms;" \
    "median probes from the easy side $(printf '%s\n' "${sent[@]}" | grep . | median), 256 sockets on the hard side"
  check "birthday $a x $b: at least $((RUNS_PER_WAY - RUNS_PER_WAY / 20)) of $RUNS_PER_WAY linked (got $won)" \
    [ "$won" -ge $((RUNS_PER_WAY - RUNS_PER_WAY / 20)) ]
}

birthday_way port-restricted symmetric
birthday_way symmetric port-restricted
lab_done
