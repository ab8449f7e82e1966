#!/usr/bin/env bash
# Self-check: miniupnpd in router ra maps ports on request over NAT-PMP and UPnP-IGD, and the
# mapped ports (only those) then let unsolicited traffic from the internet reach ha.
. "$(dirname "$0")/testlib.sh"
lab_test upnp
"$LAB" up --upnp-a

out=$("$LAB" exec ha -- timeout 10 natpmpc -g 10.1.0.1 2>&1 || true)
check "NAT-PMP: public address is 198.51.100.2" contains "$out" "Public IP address : 198.51.100.2"
out=$("$LAB" exec ha -- timeout 10 natpmpc -g 10.1.0.1 -a 40000 40000 udp 60 2>&1 || true)
check "NAT-PMP: udp 40000 mapped" contains "$out" "Mapped public port 40000 protocol UDP to local port 40000"
# -i: miniupnpc flags an IGD with a documentation-range external address as not connected.
IGD=http://10.1.0.1:2189/rootDesc.xml
out=$("$LAB" exec ha -- timeout 10 upnpc -i -u "$IGD" -a 10.1.0.2 40001 40001 UDP 2>&1 || true)
check "UPnP-IGD: udp 40001 mapped" contains "$out" "external 198.51.100.2:40001 UDP is redirected to internal 10.1.0.2:40001"
out=$("$LAB" exec ha -- timeout 10 upnpc -i -u "$IGD" -l 2>&1 || true)
check "UPnP-IGD: both mappings listed" contains "$(grep -cE '40000|40001' <<<"$out")" "^2$"

check "inbound udp via the NAT-PMP mapping reaches ha" udp_reaches wan 198.51.100.103 ha 198.51.100.2 40000
check "inbound udp via the UPnP mapping reaches ha" udp_reaches wan 198.51.100.103 ha 198.51.100.2 40001
check "inbound udp to an unmapped port is dropped" not udp_reaches wan 198.51.100.103 ha 198.51.100.2 40002
lab_done
