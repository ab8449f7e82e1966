#!/usr/bin/env bash
# udp_punch under harder paths: ha behind a carrier-grade NAT (ra behind the port-restricted
# cX), 20 ms each way on both routers' links, and 2 % loss both ways on both sides, each for
# every ordered pair of NAT modes but symmetric x symmetric.
. "$(dirname "$0")/testlib.sh"
lab_test udp_punch_paths
. "$LAB_DIR/udp_punch_lib.sh"
punch_work
"$LAB" up --cgnat-a
punch_matrix "cgnat-a"
"$LAB" up --delay-a 20 --delay-b 20
punch_matrix "delay 20 ms"
"$LAB" up --loss-a 2 --loss-b 2
punch_matrix "loss 2 %"
lab_done
