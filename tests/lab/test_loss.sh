#!/usr/bin/env bash
# Self-check: loss on a side's WAN link (iptables statistic in wan; this kernel has no netem).
. "$(dirname "$0")/testlib.sh"
lab_test loss
"$LAB" up --loss-a 100

answered() { "$LAB" exec "$1" -- "$PUNCH" probe "$STUN" "$2" | awk '{print $2}'; }
check "100 % loss on side a: no STUN answer" [ "$(answered ha 10)" = 0 ]
check "side b is not impaired" [ "$(answered hb 10)" = 10 ]
"$LAB" loss a 0
check "loss removed: every STUN request answered" [ "$(answered ha 10)" = 10 ]
"$LAB" loss a 50
# 50 % each way: a request and its answer both pass 1 time in 4. 0 or 100 of 100 would take
# a chance below 1e-12.
n=$(answered ha 100)
between() { [ "$1" -gt "$2" ] && [ "$1" -lt "$3" ]; }
check "50 % loss each way: some but not all of 100 requests answered ($n)" between "$n" 0 100
lab_done
