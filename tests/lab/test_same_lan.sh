#!/usr/bin/env bash
# Self-check: ha and hb on one LAN behind ra. They reach each other directly and share one
# public address; a punch through their public mappings needs hairpinning, which ra does only
# when the lab is up with --hairpin.
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
"$LAB" set-nat ra port-restricted
check "without hairpinning, a punch through the public mappings fails" not punch_hosts

"$LAB" up --same-lan --hairpin --nat-a port-restricted
check "with hairpinning, a punch through the public mappings succeeds" punch_hosts
check "hairpinned traffic comes from the peer's public mapping" contains "$(cat "$PUNCH_LOGS/a.log")" "heard from 198.51.100.2:"
"$LAB" set-nat ra symmetric
check "hairpinning behind a symmetric NAT too" punch_hosts
lab_done
