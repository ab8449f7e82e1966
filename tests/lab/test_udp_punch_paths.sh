#!/usr/bin/env bash
# udp_punch under harder paths: ha behind a carrier-grade NAT (ra behind the port-restricted
# cX), 20 ms each way on both routers' links, and 2 % loss both ways on both sides, each for
# every ordered pair of NAT modes but symmetric x symmetric (under loss, five messages 300 ms
# apart, one echo of them enough: a lost echo is not a failed punch) (behind the carrier, ra is never
# "none": the lab has no public LAN there).
. "$(dirname "$0")/testlib.sh"
lab_test udp_punch_paths
. "$LAB_DIR/udp_punch_lib.sh"
# Each `up` starts with `down`, which removes the run folder: a fresh work folder each time.
"$LAB" up --cgnat-a
punch_work
cgnat_pairs=()
for b in "${PUNCH_MODES[@]}"; do
  for a in "${PUNCH_MODES[@]}"; do [ "$a" = none ] || [ "$a:$b" = symmetric:symmetric ] || cgnat_pairs+=("$a:$b"); done
done
punch_matrix "cgnat-a" "${cgnat_pairs[@]}"
"$LAB" up --delay-a 20 --delay-b 20
punch_work
punch_matrix "delay 20 ms"
"$LAB" up --loss-a 2 --loss-b 2
punch_work
PUNCH_REPEAT=5 punch_matrix "loss 2 %"
lab_done
