// Which addresses a signal-triggered dial may go to. A connect_back request (or any other
// request that arrives over signaling) names addresses of the requester's choosing; dialing
// them blindly lets anyone with a key aim this node's connections at its loopback services,
// its LAN, or a third party. The policy: external (public) addresses are allowed (that is
// what a node behind no NAT advertises); a private or link-local address only when this node
// itself sits in that network; never loopback or another port of this node's own addresses
// (unless configured, for tests and nodes that share one machine), never unspecified,
// multicast, broadcast, reserved, or this node's own listen endpoints. Pure: the caller
// gathers the node's networks (dial_scope in reverse_connect.cpp), so the rules are
// unit-tested without sockets.
#pragma once
#include <asio/ip/address.hpp>
#include <cstdint>
#include <string_view>
#include <vector>
#include <warpgate/endpoint.hpp>

namespace warpgate::traversal {

// Shortest prefixes that still mean one LAN. A netmask shorter than /8 spans tens of millions
// of IPv4 hosts, and a site gets a /48 at most in IPv6: anything shorter is not a network we
// share with a peer but a broken or hostile prefix (an address entry may claim /0, which would
// make every address "on our LAN").
inline constexpr unsigned min_lan_prefix_v4 = 8;
inline constexpr unsigned min_lan_prefix_v6 = 48;

// True when a and b are of one family and share their first `prefix` bits, with `prefix` at
// least the family's min_lan_prefix (a shorter one is never "the same subnet").
bool same_subnet(const asio::ip::address& a, const asio::ip::address& b, unsigned prefix);

// One address of this node's interfaces: a network it is on.
struct LocalNetwork {
    asio::ip::address ip;
    std::uint8_t prefix_len = 0;
    std::uint32_t if_index = 0;  // the link (IPv6 link-local targets must name it as scope id)
};

struct DialScope {
    std::vector<LocalNetwork> networks;   // its interface addresses (any port on them is this machine)
    std::vector<Endpoint> own_endpoints;  // where this node listens (and its external addresses)
    bool allow_loopback = false;          // NodeConfig::dial_back_loopback: this machine may be dialed
};

enum class DialVerdict {
    allowed,
    no_port,             // port 0
    unspecified,         // 0.0.0.0, ::
    reserved,            // 0.0.0.0/8, 240.0.0.0/4, NAT64 of a non-public IPv4
    multicast,
    broadcast,           // 255.255.255.255 or the broadcast address of one of our subnets
    own_endpoint,        // one of this node's listen endpoints
    loopback,
    own_address,         // another port of one of this node's addresses: this machine, as loopback
    link_local_elsewhere,  // link-local, but not on a link this node is on
    private_not_ours,      // a private (RFC 1918, RFC 6598, ULA) network this node is not in
};

// Stable names ("loopback", "private_not_ours", ...): refusal counter keys and log text.
std::string_view to_string(DialVerdict verdict);

DialVerdict check_dial_target(const DialScope& scope, const Endpoint& target);

}  // namespace warpgate::traversal
