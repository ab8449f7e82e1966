#!/usr/bin/env bash
# warpgate NAT lab: an "internet" of network namespaces on one machine, with NATing routers,
# hosts behind them and real servers (coturn, mosquitto, chrony, miniupnpd). Needs root.
#
#   lab.sh up [--nat-a MODE] [--nat-b MODE] [--cgnat-a] [--cgnat-b] [--same-lan] [--hairpin]
#             [--upnp-a] [--upnp-b] [--loss-a PCT] [--loss-b PCT] [--delay-a MS[/JITTER]]
#             [--delay-b MS[/JITTER]] [--ip6-a MODE6] [--ip6-b MODE6] [--v6-only-a]
#             [--v6-only-b] [--no-servers]
#   lab.sh down                       stop every lab process, delete every lab namespace
#   lab.sh exec HOST -- CMD...        run CMD inside HOST (wan ra rb ca cb da db ha hb)
#   lab.sh ip HOST                    print HOST's address (routers: their WAN address)
#   lab.sh ip6 HOST                   the same for IPv6 (wan: its server address)
#   lab.sh status                     namespaces, addresses, NAT modes, servers
#   lab.sh set-nat ROUTER MODE        change ra/rb's NAT behaviour in place (flushes conntrack)
#   lab.sh set-ip6 ROUTER MODE6       change ra/rb's IPv6 behaviour in place (a side with IPv6)
#   lab.sh flush                      forget every NAT mapping (conntrack -F in all routers)
#   lab.sh loss SIDE PCT              drop PCT % of packets both ways on side a/b's WAN link
#   lab.sh spawn HOST NAME -- CMD...  start a background process that `down` will stop
#   lab.sh check                      exit 77 with a reason when the lab cannot run here
#
# NAT modes: none (public host), full-cone, restricted (address-restricted cone),
# port-restricted, symmetric (random ports), sequential (symmetric, ports allocated +1).
# IPv6 modes (MODE6, per side, default off: no IPv6 at all): open (routed, no filter), fw6
# (a home router's stateful firewall: no NAT, outbound allowed, inbound only for established
# flows), nat66 (the LAN gets a ULA prefix masqueraded to the router's WAN address).
# --v6-only-X: that side's hosts get no IPv4 address (needs --ip6-X).
#
# Fixed addresses (documentation ranges; the lab's packets never leave its namespaces):
#   wan   servers on its loopback: 198.51.100.100 (primary), 198.51.100.101 (alternate);
#         198.51.100.102 is miniupnpd's plain STUN responder (with --upnp-X); 198.51.100.103
#         -.109 and 203.0.113.100-.109 are up and free for the project's own servers.
#         STUN/TURN (coturn) 198.51.100.100:3478, alternate 198.51.100.101:3479 (RFC 5780),
#         TURN user test, password test, realm lab; relay ports 49152-49999.
#         MQTT (mosquitto) 198.51.100.100:1883, anonymous. NTP (chrony) 198.51.100.100:123.
#   side a: router ra WAN 198.51.100.2 (link 198.51.100.0/30, wan end .1), LAN 10.1.0.0/24,
#           ra 10.1.0.1, host ha 10.1.0.2 (with --same-lan hb is 10.1.0.3 on this LAN).
#   side b: router rb WAN 203.0.113.2 (link 203.0.113.0/30, wan end .1), LAN 10.2.0.0/24,
#           rb 10.2.0.1, host hb 10.2.0.2.
#   mode none: the LAN is public instead: 198.51.100.64/28 (ra .65, ha .66, hb .67) or
#           203.0.113.64/28 (rb .65, hb .66).
#   --cgnat-X: a carrier router cX takes the public address (198.51.100.2 / 203.0.113.2),
#           NATs port-restricted, and rX sits behind it at 100.64.1.2 / 100.64.2.2
#           (carrier side 100.64.1.1 / 100.64.2.1).
#   NAT-PMP/PCP (miniupnpd, --upnp-X): router LAN address :5351; UPnP-IGD HTTP on :2189.
#   --delay-X: an address-less bridge namespace dX sits on the link between wan and the router.
#   IPv6 (with --ip6-X): wan's loopback 2001:db8:100::100 (primary: coturn :3478 and MQTT
#           :1883), 2001:db8:100::101 (coturn's alternate :3479), ::102-::109 free. Side a:
#           link 2001:db8:a::/64 (wan ::1, ra ::2), LAN 2001:db8:1::/64 (ra ::1, ha ::2,
#           hb ::3 with --same-lan); side b: link 2001:db8:b::/64, LAN 2001:db8:2::/64 (rb
#           ::1, hb ::2). nat66: the LAN is fd00:1::/64 or fd00:2::/64 instead (same hosts).
#           Not with --cgnat-X (the carrier is IPv4 only).
#
# Environment: WG_LAB_PREFIX (default "wg") prefixes every namespace name ("wg-ha", ...) so
# several labs can coexist; WG_LAB_RUN (default /tmp/wg-lab-$WG_LAB_PREFIX) holds pidfiles,
# logs and configs; `down` removes it unless WG_LAB_KEEP_RUN=1. WG_LAB_TOOLS: the folder of
# the built lab tools (lab_stun_responder, lab_delay_bridge; default build/tests/lab).
# See docs/lab.md.
set -euo pipefail

PREFIX=${WG_LAB_PREFIX:-wg}
RUN=${WG_LAB_RUN:-/tmp/wg-lab-$PREFIX}
ALL_HOSTS=(ha hb ra rb ca cb da db wan)
MODES=(none full-cone restricted port-restricted symmetric sequential)
SEQ_FIRST_PORT=20000 # first external port of the sequential NAT
SEQ_PORTS=1000

die() { echo "lab: $*" >&2; exit 1; }
# Forks are slow on a busy machine: helpers set variables or expand names in place rather
# than print into command substitutions, and `ip` commands go in batches per namespace.
in_ns() { local host=$1; shift; ip netns exec "$PREFIX-$host" "$@"; }
ns_exists() { [ -e "/run/netns/$PREFIX-$1" ]; }
ipb() { ip -n "$PREFIX-$1" -batch -; } # the `ip` commands on stdin, inside host $1

# ---- side geometry ------------------------------------------------------------------------

# side a|b: sets NET (public /24 prefix), IDX, R (router), OUTER (the namespace facing wan),
# WAN_IP (the router's own WAN address, which its NAT maps to), MODE, HOSTS (its LAN hosts).
side() {
  if [ "$1" = a ]; then
    NET=198.51.100 IDX=1 MODE=$NAT_A CGNAT=$CGNAT_A DELAY=$DELAY_A HOSTS=(ha)
    [ "$SAME_LAN" = 0 ] || HOSTS=(ha hb)
  else
    NET=203.0.113 IDX=2 MODE=$NAT_B CGNAT=$CGNAT_B DELAY=$DELAY_B HOSTS=(hb)
  fi
  R=r$1 OUTER=r$1 WAN_IP=$NET.2
  if [ "$CGNAT" = 1 ]; then OUTER=c$1 WAN_IP=100.64.$IDX.2; fi
}

# lan_plan MODE (after `side`): sets LAN_RIP (router), LAN_PLEN, LAN_BASE (first three
# octets), LAN_FIRST (last octet of the first host). Public LAN for mode none.
lan_plan() {
  if [ "$1" = none ]; then LAN_RIP=$NET.65 LAN_PLEN=28 LAN_BASE=$NET LAN_FIRST=66
  else LAN_RIP=10.$IDX.0.1 LAN_PLEN=24 LAN_BASE=10.$IDX.0 LAN_FIRST=2; fi
}

load_state() {
  [ -f "$RUN/state" ] || die "no lab is up (prefix $PREFIX); run: lab.sh up"
  # shellcheck disable=SC1091
  . "$RUN/state"
}
save_state() {
  cat >"$RUN/state" <<EOF
NAT_A=$NAT_A NAT_B=$NAT_B CGNAT_A=$CGNAT_A CGNAT_B=$CGNAT_B SAME_LAN=$SAME_LAN
UPNP_A=$UPNP_A UPNP_B=$UPNP_B LOSS_A=$LOSS_A LOSS_B=$LOSS_B HAIRPIN=$HAIRPIN
DELAY_A=$DELAY_A DELAY_B=$DELAY_B
IP6_A=$IP6_A IP6_B=$IP6_B V6ONLY_A=$V6ONLY_A V6ONLY_B=$V6ONLY_B
EOF
}

# ---- prerequisites ------------------------------------------------------------------------

cmd_check() {
  [ "$(id -u)" -eq 0 ] || { echo "lab: SKIPPED: needs root (network namespaces, iptables)"; exit 77; }
  command -v ip >/dev/null || { echo "lab: SKIPPED: no iproute2 here"; exit 77; }
  local probe="$PREFIX-probe$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "lab: SKIPPED: 'ip netns add' fails here (no CAP_SYS_ADMIN or no netns support)"; exit 77
  fi
  # Namespaces work, so the lab could run: a missing package is a broken setup, which must
  # fail, not skip.
  local tool missing=()
  for tool in iptables iptables-restore ip6tables-restore nft conntrack ipset ethtool turnserver turnutils_natdiscovery \
    turnutils_uclient turnutils_peer mosquitto mosquitto_pub chronyd miniupnpd stun natpmpc upnpc socat; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    ip netns del "$probe"
    die "missing ${missing[*]}: run scripts/install-deps.sh"
  fi
  local ok=1
  ip netns exec "$probe" iptables -t nat -L >/dev/null 2>&1 || ok=0
  ip netns del "$probe"
  [ "$ok" = 1 ] || { echo "lab: SKIPPED: iptables NAT unusable inside a namespace (kernel without nf_nat?)"; exit 77; }
}

# ---- namespaces and links -----------------------------------------------------------------

add_ns() {
  local forward=1
  case $1 in ha | hb | da | db) forward=0 ;; esac
  ip netns add "$PREFIX-$1"
  in_ns "$1" sh -c "ip link set lo up && sysctl -qw net.ipv4.ip_forward=$forward \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0"
}

# link HOST1 IF1 HOST2 IF2: a veth pair, each end created in place and up.
link() {
  ip -n "$PREFIX-$1" link add "$2" up type veth peer name "$4" netns "$PREFIX-$3"
  ip -n "$PREFIX-$3" link set "$4" up
}

build_wan() {
  add_ns wan
  # Everything wan cannot route (private LANs, addresses TURN peers invent) goes into a sink:
  # a veth whose far end has no address, towards a fake permanent neighbour: it vanishes.
  ipb wan <<EOF
$(for a in 198.51.100.{100..109} 203.0.113.{100..109}; do echo "addr add $a/32 dev lo"; done)
link add sink0 up type veth peer name sink1
link set sink1 up
addr add 169.254.0.1/30 dev sink0
neigh add 169.254.0.2 lladdr 02:00:00:00:00:02 dev sink0 nud permanent
route add default via 169.254.0.2 dev sink0
EOF
  # Loss chains per side, filled by set_loss.
  in_ns wan sh -c 'iptables -t raw -N LOSS_A && iptables -t raw -N LOSS_B'
}

# build_side a|b: router (and carrier), WAN link, LAN bridge, hosts.
build_side() {
  side "$1"
  add_ns "$R"
  if [ "$CGNAT" = 1 ]; then
    add_ns "$OUTER"
    link "$OUTER" lan0 "$R" wan0
    ip -n "$PREFIX-$OUTER" addr add "100.64.$IDX.1/24" dev lan0
    ipb "$R" <<EOF
addr add $WAN_IP/24 dev wan0
route add default via 100.64.$IDX.1
EOF
    # The carrier NATs port-restricted, as carrier-grade NATs commonly do.
    in_ns "$OUTER" sh -c "iptables -t nat -A POSTROUTING -s 100.64.0.0/10 -o wan0 -j SNAT --to-source $NET.2 &&
      iptables -A INPUT -i wan0 -m conntrack --ctstate NEW -j DROP"
  fi
  if [ "$DELAY" = 0 ]; then
    link wan "${1}0" "$OUTER" wan0
  else
    add_delay "$1"
  fi
  # $NET.64/28 is the side's LAN when it is public (mode none).
  ipb wan <<EOF
addr add $NET.1/30 dev ${1}0
route add $NET.64/28 via $NET.2
EOF
  ipb "$OUTER" <<EOF
addr add $NET.2/30 dev wan0
route add default via $NET.1
EOF
  # A bridge, so that --same-lan puts two hosts on one LAN.
  ip -n "$PREFIX-$R" link add lan0 up type bridge
  local h
  for h in "${HOSTS[@]}"; do
    add_ns "$h"
    link "$R" "p-$h" "$h" eth0
    ip -n "$PREFIX-$R" link set "p-$h" master lan0
  done
}

# add_delay a|b (after `side`): the side's WAN link becomes wan <-> dX <-> router, dX holding
# every frame DELAY ms (+- jitter) each way in lab_delay_bridge (this kernel has no netem).
# The bridge passes frames on as read, so the senders compute checksums and segment
# themselves (offloads off); the bridge's own ends get no address.
add_delay() {
  local d=d$1 ms=${DELAY%%/*} jitter=0
  [[ $DELAY != */* ]] || jitter=${DELAY#*/}
  [[ $ms =~ ^[0-9]+([.][0-9]+)?$ && $jitter =~ ^[0-9]+([.][0-9]+)?$ ]] || die "delay must be MS or MS/JITTER_MS, got '$DELAY'"
  command -v ethtool >/dev/null || die "--delay needs ethtool (scripts/install-deps.sh)"
  [ -x "$LAB_TOOLS/lab_delay_bridge" ] || die "lab_delay_bridge not built (set WG_LAB_TOOLS to its folder)"
  add_ns "$d"
  link wan "${1}0" "$d" up0
  link "$d" down0 "$OUTER" wan0
  in_ns wan ethtool -K "${1}0" tx off tso off gso off >/dev/null 2>&1
  in_ns "$OUTER" ethtool -K wan0 tx off tso off gso off >/dev/null 2>&1
  in_ns "$d" sh -c "ethtool -K up0 gro off >/dev/null 2>&1; ethtool -K down0 gro off >/dev/null 2>&1; true"
  spawn "$d" "delay-$1" "$LAB_TOOLS/lab_delay_bridge" up0 down0 "$ms" "$jitter"
}

# address_lan MODE (after `side`): private 10.x behind a NAT, public for mode none. Only the
# IPv4 addresses are replaced (to 0.0.0.0/0): a dual-stack LAN keeps its IPv6 across set-nat.
address_lan() {
  local h i=0
  lan_plan "$1"
  ipb "$R" <<EOF
addr flush dev lan0 to 0.0.0.0/0
addr add $LAN_RIP/$LAN_PLEN dev lan0
EOF
  for h in "${HOSTS[@]}"; do
    ipb "$h" <<EOF
addr flush dev eth0 to 0.0.0.0/0
addr add $LAN_BASE.$((LAN_FIRST + i))/$LAN_PLEN dev eth0
route replace default via $LAN_RIP
EOF
    i=$((i + 1))
  done
}

# ---- NAT behaviours (see docs/lab.md for the measured facts behind them) -------------------

seq_map() {
  local i
  SEQ_MAP=""
  for ((i = 0; i < SEQ_PORTS; i++)); do SEQ_MAP+="$i : $((SEQ_FIRST_PORT + i)), "; done
  SEQ_MAP=${SEQ_MAP%, }
}

# nat_rules MODE (after `side` and `lan_plan`): the router's whole ruleset as one shell
# script (iptables-restore replaces the tables at once: one process, not one per rule).
nat_rules() {
  local lan=$LAN_BASE.0/$LAN_PLEN host=$LAN_BASE.$LAN_FIRST # cone NATs forward to host 1
  local nat="" mangle="" filter="" extra=""
  if [ "$1" != none ]; then
    # A consumer router drops unsolicited packets to itself instead of answering with a RST
    # (a RST would kill the conntrack entry a TCP simultaneous open is waiting on).
    filter="-A INPUT -i wan0 -m conntrack --ctstate NEW -j DROP"
  fi
  case $1 in
    port-restricted | full-cone | restricted)
      # Linux SNAT keeps the source port when it can: endpoint-independent mapping, and
      # conntrack admits replies from the exact remote address and port only.
      nat="-A POSTROUTING -s $lan -o wan0 -j SNAT --to-source $WAN_IP" ;;
    symmetric)
      nat="-A POSTROUTING -s $lan -o wan0 -j SNAT --to-source $WAN_IP --random-fully" ;;
    sequential)
      # iptables port ranges are not sequential; an nft numgen counter over an explicit map is
      # (nft 1.0.6 byte-swaps "numgen ... offset", hence the map).
      seq_map
      extra="nft -f - <<'NFT'
table ip seqnat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr $lan oifname \"wan0\" meta l4proto { tcp, udp } snat to $WAN_IP : numgen inc mod $SEQ_PORTS map { $SEQ_MAP }
  }
}
NFT" ;;
  esac
  case $1 in
    full-cone)
      nat+="
-A PREROUTING -i wan0 -d $WAN_IP -p udp --dport 1024:65535 -j DNAT --to-destination $host" ;;
    restricted)
      # Remember every (remote address, mapped port) the host sent to; admit any port of it.
      mangle="-A POSTROUTING -o wan0 -p udp -j SET --add-set seen dst,src"
      nat+="
-A PREROUTING -i wan0 -d $WAN_IP -p udp -m set --match-set seen src,dst -j DNAT --to-destination $host" ;;
  esac
  # (A set the old rules still use survives the destroy: restricted to restricted keeps it.)
  cat <<EOF
ipset destroy 2>/dev/null; nft delete table ip seqnat 2>/dev/null
nft delete table ip hairpin 2>/dev/null; set -e
$([ "$1" != restricted ] || echo "ipset create -exist seen hash:ip,port; ipset flush seen")
iptables-restore <<'IPT'
*nat
$nat
COMMIT
*mangle
$mangle
COMMIT
*filter
$filter
COMMIT
IPT
$extra
$([ "$HAIRPIN" = 0 ] || [ "$1" = none ] || hairpin_rules)
conntrack -F 2>/dev/null || true
EOF
}

# Hairpinning (--hairpin): a LAN host that sends to another LAN host's public mapping reaches
# it, seen from the sender's public mapping, as RFC 4787 section 6 asks. Outgoing flows teach
# a map "external port -> LAN host and port" after SNAT (priority 300 sees the translated port).
# A host reaching its own mapping is not covered: Linux drops the packet routed back to it.
hairpin_rules() {
  cat <<EOF
nft -f - <<'NFT'
table ip hairpin {
  map mapped { type inet_proto . inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }
  chain learn {
    type filter hook postrouting priority 300; policy accept;
    oifname "wan0" meta l4proto { tcp, udp } update @mapped { meta l4proto . th sport : ct original ip saddr . ct original proto-src }
  }
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "lan0" ip daddr $WAN_IP meta l4proto { tcp, udp } dnat ip addr . port to meta l4proto . th dport map @mapped
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "lan0" ip saddr $LAN_BASE.0/$LAN_PLEN ct status dnat snat to $WAN_IP
  }
}
NFT
EOF
}

check_mode() {
  local m
  for m in "${MODES[@]}"; do [ "$m" = "$1" ] && return 0; done
  die "unknown NAT mode '$1' (one of: ${MODES[*]})"
}

# check_combination a|b MODE (after `side`)
check_combination() {
  if [ "$CGNAT" = 1 ] && [ "$2" = none ]; then die "side $1: mode none behind a carrier NAT is not supported"; fi
  if [ "${#HOSTS[@]}" -gt 1 ]; then
    case $2 in full-cone | restricted) die "--same-lan: $2 NAT forwards to one host only; use none, port-restricted, symmetric or sequential" ;; esac
  fi
  return 0
}

# set_nat a|b MODE: (re)applies a router's behaviour; re-addresses its LAN for none.
set_nat() {
  check_mode "$2"
  side "$1"
  check_combination "$1" "$2"
  address_lan "$2"
  local out
  out=$(in_ns "$R" bash -c "$(nat_rules "$2")" 2>&1) || die "could not apply NAT mode $2 in $R: $out"
  if [ "$1" = a ]; then NAT_A=$2; else NAT_B=$2; fi
  strip_v4_if_v6_only "$1"
}

# ---- IPv6 (--ip6-X) -------------------------------------------------------------------------

MODES6=(off open fw6 nat66)
WAN6=2001:db8:100::100 WAN6_ALT=2001:db8:100::101

# side6 a|b (after `side`): sets LINK6 (the router link's /64 prefix), LAN6 (the LAN's /64
# prefix, without "/64") for MODE6, MODE6 and V6ONLY.
side6() {
  local n=${1/a/1}; n=${n/b/2}
  if [ "$1" = a ]; then MODE6=$IP6_A V6ONLY=$V6ONLY_A; else MODE6=$IP6_B V6ONLY=$V6ONLY_B; fi
  LINK6=2001:db8:$1: LAN6=2001:db8:$n:
  [ "${2:-$MODE6}" != nat66 ] || LAN6=fd00:$n:
}

check_mode6() {
  local m
  for m in "${MODES6[@]}"; do [ "$m" = "$1" ] && return 0; done
  die "unknown IPv6 mode '$1' (one of: ${MODES6[*]})"
}

# Wan's IPv6 server addresses (and IPv6 forwarding), once, when a side has IPv6.
build_wan6() {
  in_ns wan sysctl -qw net.ipv6.conf.all.forwarding=1
  ipb wan <<EOF
$(for i in {100..109}; do echo "addr add 2001:db8:100::$i/128 dev lo"; done)
EOF
}

# build_side6 a|b: the router link and the router's default route (the LAN is addressed by
# set_ip6, the mode decides its prefix).
build_side6() {
  side "$1"; side6 "$1"
  [ "$CGNAT" = 0 ] || die "side $1: --ip6-$1 behind a carrier NAT is not supported"
  in_ns "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
  ipb wan <<EOF
addr add ${LINK6}:1/64 dev ${1}0
EOF
  ipb "$R" <<EOF
addr add ${LINK6}:2/64 dev wan0
route add default via ${LINK6}:1
EOF
}

# fw6_rules MODE6 (after side6): the router's ip6tables ruleset for iptables-restore.
# ICMPv6 passes to the router (neighbour discovery) and, when RELATED, through it; a flow is
# admitted inbound only once the LAN side sent in it: a TCP SYN from the LAN lets the peer's
# crossing SYN in (a reply-direction packet is ESTABLISHED), and a UDP datagram out opens its
# exact 5-tuple. Unsolicited packets to the router itself are dropped, not refused (see nat_rules).
fw6_rules() {
  local nat="" filter=""
  if [ "$1" != open ]; then
    filter="-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -i wan0 -m conntrack --ctstate NEW,INVALID -j DROP
-A FORWARD -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i wan0 -j DROP"
  fi
  # MASQUERADE keeps the source port when it is free, as SNAT does for IPv4.
  [ "$1" != nat66 ] || nat="-A POSTROUTING -s ${LAN6}:/64 -o wan0 -j MASQUERADE"
  cat <<EOF
*nat
$nat
COMMIT
*filter
$filter
COMMIT
EOF
}

# set_ip6 a|b MODE6: (re)addresses the side's LAN for MODE6 and applies its firewall.
set_ip6() {
  check_mode6 "$2"
  side "$1"; side6 "$1" "$2"
  [ "$2" != off ] || die "side $1: IPv6 cannot be turned off in place (lab.sh up without --ip6-$1)"
  [ "$MODE6" != off ] || die "side $1 has no IPv6 (lab.sh up --ip6-$1 MODE6)"
  local h i=2 out
  ip -n "$PREFIX-$R" -6 addr flush dev lan0 scope global
  ipb "$R" <<EOF
addr add ${LAN6}:1/64 dev lan0
EOF
  for h in "${HOSTS[@]}"; do
    ip -n "$PREFIX-$h" -6 addr flush dev eth0 scope global
    ipb "$h" <<EOF
addr add ${LAN6}:$i/64 dev eth0
route replace default via ${LAN6}:1
EOF
    i=$((i + 1))
  done
  ipb wan <<EOF
route replace 2001:db8:${IDX}::/64 via ${LINK6}:2
EOF
  out=$(in_ns "$R" sh -c "ip6tables-restore && conntrack -f ipv6 -F 2>/dev/null; true" <<<"$(fw6_rules "$2")" 2>&1) ||
    die "could not apply IPv6 mode $2 in $R: $out"
  [ -z "$out" ] || die "could not apply IPv6 mode $2 in $R: $out"
  if [ "$1" = a ]; then IP6_A=$2; else IP6_B=$2; fi
}

# strip_v4_if_v6_only a|b: a --v6-only-X side's hosts keep no IPv4 address (nor route).
strip_v4_if_v6_only() {
  side "$1"; side6 "$1"
  [ "$V6ONLY" = 1 ] || return 0
  local h
  for h in "${HOSTS[@]}"; do ip -n "$PREFIX-$h" -4 addr flush dev eth0; done
}

# ---- impairment ---------------------------------------------------------------------------

# set_loss a|b PCT: drops PCT % of packets each way on the side's WAN link (this kernel has no
# netem; the statistic match does loss). Both ways drop as a packet arrives, never as it
# leaves: side -> wan in wan, wan -> side in the side's outer router. A drop in wan's
# POSTROUTING would fail the sendto() of the servers running in wan (coturn, the broker) with
# EPERM, which real loss never does: coturn took it for a dead client and dropped its session.
set_loss() {
  local s=$1 pct=$2 chain="LOSS_${1^^}" p on
  [[ $pct =~ ^[0-9]+([.][0-9]+)?$ ]] || die "loss must be a percentage, got '$pct'"
  read -r p on <<<"$(awk -v x="$pct" 'BEGIN { printf "%.4f %d\n", x / 100, (x > 0) }')"
  local script="iptables -t raw -F $chain
iptables -t raw -D PREROUTING -i ${s}0 -j $chain 2>/dev/null
true"
  local outer="iptables -t raw -N LOSS 2>/dev/null; iptables -t raw -F LOSS
iptables -t raw -D PREROUTING -i wan0 -j LOSS 2>/dev/null
true"
  if [ "$on" = 1 ]; then
    script+="
iptables -t raw -A $chain -m statistic --mode random --probability $p -j DROP
iptables -t raw -A PREROUTING -i ${s}0 -j $chain"
    outer+="
iptables -t raw -A LOSS -m statistic --mode random --probability $p -j DROP
iptables -t raw -A PREROUTING -i wan0 -j LOSS"
  fi
  in_ns wan sh -c "$script"
  side "$s"
  in_ns "$OUTER" sh -c "$outer"
  if [ "$s" = a ]; then LOSS_A=$pct; else LOSS_B=$pct; fi
}

# ---- processes ----------------------------------------------------------------------------

# spawn HOST NAME CMD...: a daemon in HOST, logged to $RUN/NAME.log, pid in $RUN/NAME.pid.
spawn() {
  local host=$1 name=$2; shift 2
  ns_exists "$host" || die "no host $host in lab $PREFIX"
  # setsid: a Ctrl-C in the terminal that ran `up` must not reach the lab's servers.
  ip netns exec "$PREFIX-$host" setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

# wait_listen HOST NAME SOCKET...: waits until every SOCKET ("u:PORT" or "t:PORT") listens.
wait_listen() {
  local host=$1 name=$2 i sock missing; shift 2
  for ((i = 0; i < 100; i++)); do
    missing=0
    local listening
    listening=$(in_ns "$host" ss -Hlntu | awk '{print substr($1, 1, 1) ":" $5}')
    for sock in "$@"; do
      grep -q ":${sock#*:}\$" <<<"$(grep "^${sock%%:*}" <<<"$listening")" || missing=1
    done
    [ "$missing" = 1 ] || return 0
    if ! kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
      cat "$RUN/$name.log" >&2; die "$name exited during start-up"
    fi
    sleep 0.05
  done
  cat "$RUN/$name.log" >&2
  die "$name did not listen on $* within 5 s"
}

# True when a side has IPv6: the servers then listen on wan's IPv6 addresses too.
lab_has_ip6() { [ "$IP6_A" != off ] || [ "$IP6_B" != off ]; }

# wait_listen6 NAME u|t PORT: waits until a wan server listens on $WAN6 PORT.
wait_listen6() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ -z "$(in_ns wan ss -Hln"$2" src "[$WAN6]:$3")" ] || return 0
    sleep 0.05
  done
  cat "$RUN/$1.log" >&2
  die "$1 did not listen on [$WAN6]:$3 within 5 s"
}

start_coturn() {
  # One coturn serves STUN (RFC 5780: two addresses, two ports) and TURN.
  local v6=()
  ! lab_has_ip6 || v6=(-L "$WAN6" -L "$WAN6_ALT" --relay-ip "$WAN6")
  spawn wan coturn turnserver -n --lt-cred-mech --user test:test --realm lab \
    --userdb "$RUN/turndb" --relay-ip 198.51.100.100 --min-port 49152 --max-port 49999 \
    --no-cli --no-tls --no-dtls --log-file stdout --simple-log \
    -L 198.51.100.100 -L 198.51.100.101 "${v6[@]}" --listening-port 3478 --alt-listening-port 3479 \
    --pidfile "$RUN/coturn-own.pid"
}

start_mosquitto() {
  cat >"$RUN/mosquitto.conf" <<EOF
listener 1883 198.51.100.100
$(! lab_has_ip6 || echo "listener 1883 $WAN6")
allow_anonymous true
persistence false
user root
log_dest stdout
EOF
  spawn wan mosquitto mosquitto -c "$RUN/mosquitto.conf"
}

start_chrony() {
  # -x: namespaces share the machine's clock, so this chronyd must never set it.
  cat >"$RUN/chrony.conf" <<EOF
local stratum 8
allow 198.51.100.0/24
allow 203.0.113.0/24
allow 100.64.0.0/10
$(! lab_has_ip6 || printf 'allow 2001:db8::/32\nbindaddress %s' "$WAN6")
bindaddress 198.51.100.100
cmdport 0
bindcmdaddress /
pidfile $RUN/chronyd-own.pid
EOF
  spawn wan chrony chronyd -d -x -u root -f "$RUN/chrony.conf"
}

start_upnp() {
  side "$1"
  lan_plan "$MODE"
  # miniupnpd refuses documentation ranges as external addresses unless a STUN check says
  # the address is reachable; a plain responder answering from the same address does that.
  if [ ! -f "$RUN/stun-plain.pid" ]; then
    [ -x "$LAB_TOOLS/lab_stun_responder" ] || die "lab_stun_responder not built (set WG_LAB_TOOLS to its folder)"
    spawn wan stun-plain "$LAB_TOOLS/lab_stun_responder" 198.51.100.102 3478
  fi
  in_ns "$R" nft -f - <<EOF
table inet miniupnpd {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
EOF
  cat >"$RUN/miniupnpd-$R.conf" <<EOF
ext_ifname=wan0
listening_ip=lan0
http_port=2189
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
ext_perform_stun=yes
ext_stun_host=198.51.100.102
ext_stun_port=3478
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=3d3cec3a-8cf0-11e0-98ee-00000000000$IDX
allow 1024-65535 0.0.0.0/0 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
  spawn "$R" "miniupnpd-$R" miniupnpd -d -f "$RUN/miniupnpd-$R.conf" -P "$RUN/miniupnpd-$R-own.pid"
}

# stop_ns_processes NAMESPACE: TERM, then KILL what is left after 2 s.
stop_ns_processes() {
  local n=$1 pids i sig=TERM
  for ((i = 0; i < 80; i++)); do
    pids=$(ip netns pids "$n" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    [ "$i" -lt 40 ] || sig=KILL
    # shellcheck disable=SC2086
    kill -s "$sig" $pids 2>/dev/null || true
    sleep 0.05
  done
  echo "lab: warning: processes survive in $n: $(ip netns pids "$n" | tr '\n' ' ')" >&2
}

# ---- commands -----------------------------------------------------------------------------

cmd_down() {
  local h pids=()
  # Signal every process first, so that their exits (coturn takes ~1.5 s) overlap.
  for h in "${ALL_HOSTS[@]}"; do
    ns_exists "$h" || continue
    mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$PREFIX-$h" 2>/dev/null || true)
  done
  [ "${#pids[@]}" -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
  for h in "${ALL_HOSTS[@]}"; do
    ns_exists "$h" || continue
    stop_ns_processes "$PREFIX-$h"
    ip netns del "$PREFIX-$h"
  done
  if [ "${WG_LAB_KEEP_RUN:-0}" != 1 ]; then rm -rf "$RUN"; fi
}

cmd_up() {
  NAT_A=port-restricted NAT_B=port-restricted CGNAT_A=0 CGNAT_B=0 SAME_LAN=0
  UPNP_A=0 UPNP_B=0 LOSS_A=0 LOSS_B=0 HAIRPIN=0 DELAY_A=0 DELAY_B=0
  IP6_A=off IP6_B=off V6ONLY_A=0 V6ONLY_B=0
  local servers=1
  while [ $# -gt 0 ]; do
    case $1 in
      --nat-a) NAT_A=${2:?--nat-a needs a mode}; shift ;;
      --nat-b) NAT_B=${2:?--nat-b needs a mode}; shift ;;
      --cgnat-a) CGNAT_A=1 ;;
      --cgnat-b) CGNAT_B=1 ;;
      --same-lan) SAME_LAN=1 ;;
      --hairpin) HAIRPIN=1 ;;
      --upnp-a) UPNP_A=1 ;;
      --upnp-b) UPNP_B=1 ;;
      --loss-a) LOSS_A=${2:?--loss-a needs a percentage}; shift ;;
      --loss-b) LOSS_B=${2:?--loss-b needs a percentage}; shift ;;
      --delay-a) DELAY_A=${2:?--delay-a needs MS or MS/JITTER_MS}; shift ;;
      --delay-b) DELAY_B=${2:?--delay-b needs MS or MS/JITTER_MS}; shift ;;
      --ip6-a) IP6_A=${2:?--ip6-a needs an IPv6 mode}; shift ;;
      --ip6-b) IP6_B=${2:?--ip6-b needs an IPv6 mode}; shift ;;
      --v6-only-a) V6ONLY_A=1 ;;
      --v6-only-b) V6ONLY_B=1 ;;
      --no-servers) servers=0 ;;
      *) die "unknown option '$1'" ;;
    esac
    shift
  done
  [ "$SAME_LAN" = 0 ] || [ "$CGNAT_B" = 0 ] || die "--same-lan has no side b to put behind a carrier"
  [ "$SAME_LAN" = 0 ] || [ "$UPNP_B" = 0 ] || die "--same-lan has no router rb for --upnp-b"
  check_mode "$NAT_A"; side a; check_combination a "$NAT_A"
  if [ "$SAME_LAN" = 0 ]; then check_mode "$NAT_B"; side b; check_combination b "$NAT_B"; fi
  check_mode6 "$IP6_A"; check_mode6 "$IP6_B"
  [ "$V6ONLY_A" = 0 ] || [ "$IP6_A" != off ] || die "--v6-only-a needs --ip6-a"
  [ "$V6ONLY_B" = 0 ] || [ "$IP6_B" != off ] || die "--v6-only-b needs --ip6-b"
  [ "$SAME_LAN" = 0 ] || [ "$IP6_B" = off ] || die "--same-lan: side b is on ra's LAN (--ip6-a covers it)"

  cmd_down
  mkdir -p "$RUN"
  trap 'echo "lab: bring-up failed, tearing down" >&2; cmd_down' ERR
  build_wan
  build_side a
  [ "$SAME_LAN" = 1 ] || build_side b
  set_nat a "$NAT_A"
  [ "$SAME_LAN" = 1 ] || set_nat b "$NAT_B"
  ! lab_has_ip6 || build_wan6
  local s
  for s in a b; do
    side6 "$s"
    [ "$MODE6" = off ] || { build_side6 "$s"; set_ip6 "$s" "$MODE6"; }
  done
  [ "$LOSS_A" = 0 ] || set_loss a "$LOSS_A"
  [ "$LOSS_B" = 0 ] || set_loss b "$LOSS_B"
  save_state
  if [ "$servers" = 1 ]; then
    start_coturn; start_mosquitto; start_chrony
  fi
  [ "$UPNP_A" = 0 ] || start_upnp a
  [ "$UPNP_B" = 0 ] || start_upnp b
  if [ "$servers" = 1 ]; then
    wait_listen wan coturn u:3478 u:3479
    wait_listen wan mosquitto t:1883
    ! lab_has_ip6 || { wait_listen6 coturn u 3478; wait_listen6 mosquitto t 1883; }
    wait_listen wan chrony u:123
  fi
  [ ! -f "$RUN/stun-plain.pid" ] || wait_listen wan stun-plain u:3478
  [ "$UPNP_A" = 0 ] || wait_listen ra miniupnpd-ra u:5351
  [ "$UPNP_B" = 0 ] || wait_listen rb miniupnpd-rb u:5351
  trap - ERR
  echo "lab $PREFIX up: a=$NAT_A$([ "$CGNAT_A" = 0 ] || echo ' behind carrier ca')," \
    "b=$(if [ "$SAME_LAN" = 1 ]; then echo "none (hb on ra's LAN)"; else echo "$NAT_B"; fi)$([ "$CGNAT_B" = 0 ] || echo ' behind carrier cb')" \
    "$(! lab_has_ip6 || echo "; IPv6 a=$IP6_A$([ "$V6ONLY_A" = 0 ] || echo ' only'), b=$IP6_B$([ "$V6ONLY_B" = 0 ] || echo ' only')")"
}

cmd_ip6() {
  local h=${1:?usage: lab.sh ip6 HOST} dev=wan0
  ns_exists "$h" || die "no host $h in lab $PREFIX"
  case $h in
    wan) echo "$WAN6"; return ;;
    ha | hb) dev=eth0 ;;
  esac
  in_ns "$h" ip -6 -o addr show dev "$dev" scope global | awk '{split($4, a, "/"); print a[1]; exit}'
}

cmd_ip() {
  local h=${1:?usage: lab.sh ip HOST} dev=wan0
  ns_exists "$h" || die "no host $h in lab $PREFIX"
  case $h in
    wan) echo 198.51.100.100; return ;;
    ha | hb) dev=eth0 ;;
  esac
  in_ns "$h" ip -4 -o addr show dev "$dev" | awk '{split($4, a, "/"); print a[1]; exit}'
}

cmd_status() {
  load_state
  echo "lab $PREFIX (run dir $RUN)"
  echo "  side a: nat $NAT_A, carrier $CGNAT_A, loss $LOSS_A %, delay $DELAY_A ms, upnp $UPNP_A, hairpin $HAIRPIN"
  if [ "$SAME_LAN" = 1 ]; then echo "  side b: none (hb shares ha's LAN behind ra)"
  else echo "  side b: nat $NAT_B, carrier $CGNAT_B, loss $LOSS_B %, delay $DELAY_B ms, upnp $UPNP_B"; fi
  echo "  servers on wan's lo: 198.51.100.100-109, 203.0.113.100-109"
  ! lab_has_ip6 || echo "  IPv6: side a $IP6_A (v6 only: $V6ONLY_A), side b $IP6_B (v6 only: $V6ONLY_B), servers $WAN6-109"
  local h
  for h in "${ALL_HOSTS[@]}"; do
    ns_exists "$h" || continue
    # wan's twenty server addresses on lo are fixed (see the header): not listed.
    printf '  %-4s %s\n' "$h" "$(in_ns "$h" ip -o addr show scope global | awk '$2 != "lo" {printf "%s=%s ", $2, $4}')"
  done
  local f name
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    case $name in *-own) continue ;; esac
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "  server $name: running (pid $(cat "$f"), log $RUN/$name.log)"
    else echo "  server $name: DEAD (see $RUN/$name.log)"; fi
  done
}

cmd_flush() {
  local r
  for r in ra rb ca cb; do
    ! ns_exists "$r" || in_ns "$r" conntrack -F >/dev/null 2>&1 || true
  done
}

main() {
  LAB_TOOLS=${WG_LAB_TOOLS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build/tests/lab" 2>/dev/null && pwd || echo /nonexistent)}
  local cmd=${1:-}
  [ $# -eq 0 ] || shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    check) cmd_check ;;
    exec)
      local h=${1:?usage: lab.sh exec HOST -- CMD...}; shift
      [ "${1:-}" != -- ] || shift
      ns_exists "$h" || die "no host $h in lab $PREFIX"
      exec ip netns exec "$PREFIX-$h" "$@" ;;
    ip) cmd_ip "$@" ;;
    ip6) cmd_ip6 "$@" ;;
    status) cmd_status ;;
    set-nat | set-ip6)
      load_state
      local apply=set_nat
      [ "$cmd" = set-nat ] || apply=set_ip6
      case ${1:-} in
        ra) "$apply" a "${2:?usage: lab.sh $cmd ra|rb MODE}" ;;
        rb) [ "$SAME_LAN" = 0 ] || die "no rb with --same-lan"; "$apply" b "${2:?usage: lab.sh $cmd ra|rb MODE}" ;;
        *) die "usage: lab.sh $cmd ra|rb MODE" ;;
      esac
      save_state ;;
    flush) cmd_flush ;;
    loss)
      load_state
      case ${1:-} in a | b) set_loss "$1" "${2:?usage: lab.sh loss a|b PCT}" ;; *) die "usage: lab.sh loss a|b PCT" ;; esac
      save_state ;;
    spawn)
      load_state
      local h=${1:?usage: lab.sh spawn HOST NAME -- CMD...} name=${2:?usage: lab.sh spawn HOST NAME -- CMD...}
      shift 2
      [ "${1:-}" != -- ] || shift
      spawn "$h" "$name" "$@"
      cat "$RUN/$name.pid" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
