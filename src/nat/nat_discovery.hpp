// NAT behaviour discovery for one local address (one interface x family). Test I goes to
// every configured server at once from the measured port (the node's listen socket, or a
// fresh one): their answers give the external address by consensus and the port's own
// mapping. Against the first server offering RFC 5780 the other tests then run all at once:
// mapping tests II and III on the measured port, the two filtering tests on fresh sockets of
// their own, STUN over TCP from the measured ip:port; then the port-allocation (delta) test
// over a few more sockets. Probes a NAT may drop wait a few round trips of test I, not a
// whole retransmission budget. Classification is in nat/nat_behaviour.hpp and nat/delta.hpp;
// this file only does the I/O.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/nat.hpp>
#include "nat/delta.hpp"
#include "nat/nat_behaviour.hpp"
#include "proto/stun_client.hpp"
#include "proto/stun_port.hpp"

namespace warpgate::nat {

struct DiscoveryOptions {
    // Test I's retransmissions (a dead server costs this budget, in parallel with the others).
    stun::ClientOptions client{{std::chrono::milliseconds(200), 3, 4}, std::chrono::milliseconds(3000), true};
    // Every later probe (the NAT may drop it) gets max(probe_rtts x test I's round trip,
    // probe_floor) with three transmissions.
    int probe_rtts = 4;
    std::chrono::milliseconds probe_floor{60};
    // Once one server answered test I, how long the others may take to join the consensus.
    std::chrono::milliseconds consensus_grace{150};
    bool measure_delta = true;
    bool measure_tcp = true;
};

// What each configured server did during the discovery.
struct ServerStatus {
    HostPort server;
    bool answered = false;
    std::optional<Endpoint> mapped;  // the measured port's mapping as this server saw it
    bool agrees = false;             // its mapped IP is the consensus
    std::string note;                // what it was used for, or why not
};

struct NatReport {
    asio::ip::address local_ip;
    NatInfo nat;                           // type, mapping behaviour, delta type and value
    // The measured port's mapping: the IP most servers name, the port as the tester (else the
    // first agreeing server) saw it. nullopt when blocked.
    std::optional<Endpoint> external;
    bool servers_disagree = false;         // an answering server named another external IP
    std::optional<Endpoint> tcp_external;  // STUN over TCP from the measured ip:port
    std::string tcp_note;                  // why tcp_external is missing
    std::optional<HostPort> tested_with;   // the server that ran RFC 5780's tests
    std::vector<ServerStatus> servers;     // in the configured order
    std::chrono::microseconds rtt{0};      // test I's round trip to the tester (or first answer)
    NatObservations observations;
    std::vector<PortSample> port_samples;
};

// Classifies the NAT in front of `port` (the node's UDP listen socket: the report then holds
// that socket's own mapping, and TCP is measured from its ip:port, which needs the listening
// TCP socket to have SO_REUSEPORT). A dead server costs at most consensus_grace once another
// answered; one without RFC 5780 (no OTHER-ADDRESS, CHANGE-REQUEST ignored) only votes. When
// no server answers the report says blocked. Fails only when no server is of the port's
// family (Errc::config: that is not "blocked") or on cancellation (Errc::cancelled). Runs on
// the port's executor (one thread or a strand), which must also feed the port's datagrams.
asio::awaitable<Result<NatReport>> discover_nat(stun::StunPort& port, std::vector<HostPort> servers, DiscoveryOptions options = {});

// The same over a fresh UDP socket on local_ip (any port); Errc::io when it cannot be bound.
asio::awaitable<Result<NatReport>> discover_nat(asio::any_io_executor executor, asio::ip::address local_ip,
                                                std::vector<HostPort> servers, DiscoveryOptions options = {});

}  // namespace warpgate::nat
