#!/usr/bin/env bash
# Self-check: double NAT. Router ra sits behind a carrier-grade NAT (ca, 100.64.0.0/10): STUN
# sees the carrier's address, the behaviours compose, and punching still works through two
# port-restricted NATs.
. "$(dirname "$0")/testlib.sh"
lab_test cgnat
"$LAB" up --cgnat-a --nat-a port-restricted --nat-b port-restricted

check "ra's WAN address is in the carrier's range" [ "$("$LAB" ip ra)" = 100.64.1.2 ]
check "the carrier holds the public address" [ "$("$LAB" ip ca)" = 198.51.100.2 ]
out=$("$LAB" exec ha -- "$PUNCH" map 198.51.100.100:3478 198.51.100.101:3479 2>&1 || true)
check "STUN maps ha to the carrier's address" contains "$(grep -c ' 198.51.100.2:' <<<"$out")" "^2$"
out=$("$LAB" exec ha -- stun 198.51.100.100 2>&1 || true)
check "stun: independent mapping, port dependent filter" contains "$out" "Independent Mapping, Port Dependent Filter"
expect_punch success port-restricted port-restricted
"$LAB" set-nat ra symmetric
out=$("$LAB" exec ha -- stun 198.51.100.100 2>&1 || true)
check "stun: symmetric behind the carrier is dependent mapping" contains "$out" "Dependent Mapping"
check "mode none behind a carrier is refused" not "$LAB" set-nat ra none
lab_done
