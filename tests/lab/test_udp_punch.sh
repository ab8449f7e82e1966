#!/usr/bin/env bash
# udp_punch end to end through the CLI: a listener on hb, `connect --transport udp --plugins
# udp_punch` from ha with an echo, for every ordered pair of the lab's NAT modes except
# symmetric x symmetric (symmetric x sequential, both ways, must be declined up front: the
# relay's job), the listener restarted for each of hb's modes.
. "$(dirname "$0")/testlib.sh"
lab_test udp_punch
. "$LAB_DIR/udp_punch_lib.sh"
"$LAB" up
punch_work
punch_matrix "udp_punch"
lab_done
