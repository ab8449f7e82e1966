#pragma once
#include <asio/ip/address.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "support/temp_dir.hpp"

namespace warpgate::test {

inline asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

bool has_ipv6_loopback();

// The node's IPv4 listen endpoint (TCP and UDP share it).
Endpoint udp_listen_v4(const Node& node);

// The node's address with every IPv4 entry on 127.0.0.1:`port` and no IPv6: a peer dialling
// it goes through whatever listens there (a test's UdpForwarder in front of the node).
NodeAddress redirected(const Node& node, std::uint16_t port);

// Options for a node on loopback with the test preset, any free port, keys under `dir`.
// (Not a default argument: GCC 12 cannot put an initializer list in a coroutine frame.)
NodeOptions loopback_node(const TempDir& dir, const char* address = "127.0.0.1");

// The same for a Gate.
GateOptions loopback_gate(const TempDir& dir, const char* address = "127.0.0.1");

}  // namespace warpgate::test
