#!/usr/bin/env bash
# Self-check: ha and hb on one LAN behind ra. They reach each other directly, share one public
# address, and ra does no hairpinning (documented: a client must try LAN addresses first).
. "$(dirname "$0")/testlib.sh"
lab_test same_lan
"$LAB" up --same-lan --nat-a port-restricted

check "ha is 10.1.0.2" [ "$("$LAB" ip ha)" = 10.1.0.2 ]
check "hb is 10.1.0.3" [ "$("$LAB" ip hb)" = 10.1.0.3 ]
check "ha reaches hb directly on the LAN" udp_reaches ha 10.1.0.2 hb 10.1.0.3 40000
check "hb reaches ha directly on the LAN" udp_reaches hb 10.1.0.3 ha 10.1.0.2 40000
a=$("$LAB" exec ha -- "$PUNCH" map "$STUN" 2>&1 || true)
b=$("$LAB" exec hb -- "$PUNCH" map "$STUN" 2>&1 || true)
check "ha and hb share the public address 198.51.100.2" [ "$(printf '%s\n%s\n' "$a" "$b" | awk '{split($2, x, ":"); print x[1]}' | sort -u)" = 198.51.100.2 ]
out=$("$LAB" exec ha -- stun 198.51.100.100 2>&1 || true)
check "stun reports no hairpin" contains "$out" "no hairpin"
"$LAB" set-nat ra symmetric
out=$("$LAB" exec hb -- stun 198.51.100.100 2>&1 || true)
check "symmetric NAT over a shared LAN: hb sees dependent mapping" contains "$out" "Dependent Mapping"
check "full cone with two LAN hosts is refused" not "$LAB" set-nat ra full-cone
lab_done
