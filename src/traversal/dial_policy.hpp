// Which addresses a node dials when a peer asks it to (connect_back and every other
// signal-triggered dial): never unspecified, multicast or broadcast; loopback only when this
// node itself listens on loopback; a private, shared or link-local address only when one of
// our interfaces is on that very subnet; and never our own listen endpoints. Otherwise a signed request could aim our dials at our own
// host or at a LAN we sit on (the node as a reflector).
#pragma once
#include <vector>
#include <warpgate/address.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/interface.hpp>

namespace warpgate::traversal {

// True when a and b share the first `prefix` bits. A prefix shorter than /8 (IPv4) or /48
// (IPv6) is no LAN at all: a /0 would make every address "on the same subnet".
bool same_subnet(const asio::ip::address& a, const asio::ip::address& b, unsigned prefix);
bool is_private(const asio::ip::address& ip);  // RFC 1918, 100.64/10, fc00::/7, link-local

bool may_dial_for_peer(const Endpoint& target, const std::vector<Interface>& ours, const NodeAddress& own_address);

}  // namespace warpgate::traversal
