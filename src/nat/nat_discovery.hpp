// NAT behaviour discovery for one local address (one interface x family): RFC 5780's tests
// run over one UDP socket against the first configured server that supports them, then the
// port-allocation (delta) test over a few more sockets. Classification is in
// nat/nat_behaviour.hpp and nat/delta.hpp; this file only does the I/O.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/nat.hpp>
#include "nat/delta.hpp"
#include "nat/nat_behaviour.hpp"
#include "proto/stun_client.hpp"

namespace warpgate::nat {

struct DiscoveryOptions {
    // Each filtering test that the NAT blocks costs one whole budget: 1.4 s here.
    stun::ClientOptions client{{std::chrono::milliseconds(200), 3, 4}, std::chrono::milliseconds(3000), true};
    bool measure_delta = true;
};

// What each configured server did during the discovery.
struct ServerStatus {
    HostPort server;
    bool answered = false;
    std::string note;  // what it was used for, or why not
};

struct NatReport {
    asio::ip::address local_ip;
    NatInfo nat;                         // type, delta type, delta value
    std::optional<Endpoint> external;    // test I's mapped address; nullopt when blocked
    std::optional<HostPort> tested_with; // the server that ran RFC 5780's tests
    std::vector<ServerStatus> servers;   // in the order they were tried
    NatObservations observations;
    std::vector<PortSample> port_samples;
};

// Classifies the NAT in front of local_ip using the servers in order: a dead server costs one
// retransmission budget and is skipped; one without RFC 5780 (no OTHER-ADDRESS, CHANGE-REQUEST
// ignored or refused) is skipped for the behaviour tests. When no server answers the report
// says blocked. Fails only when no server is of local_ip's family (Errc::config: that is not
// "blocked"), the local address cannot be bound (Errc::io) or on cancellation (Errc::cancelled).
asio::awaitable<Result<NatReport>> discover_nat(asio::any_io_executor executor, asio::ip::address local_ip,
                                                std::vector<HostPort> servers, DiscoveryOptions options = {});

}  // namespace warpgate::nat
