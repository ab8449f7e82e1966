// Asking several STUN servers at once and keeping the answer most of them agree on, so that
// one lying or dead server cannot give a node a wrong external address or stall its start.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <optional>
#include <vector>
#include "proto/stun_client.hpp"

namespace warpgate::stun {

struct ConsensusOptions {
    ClientOptions client{RetransmitPolicy::within(std::chrono::milliseconds(1500)), std::chrono::milliseconds(3000), true};
    std::size_t parallel = 3;  // servers in flight at once; a failed one is replaced by the next
    std::size_t quorum = 2;    // agreeing answers that settle the question (the rest are cancelled)
    // Once one server answered, how long the others may still take before they are cancelled
    // (a dead server then costs this, not its whole budget). Unset: as long as their budget.
    std::optional<std::chrono::milliseconds> grace;
};

struct ServerAnswer {
    HostPort server;
    Result<BindingResult> result;  // Errc::cancelled when a quorum made it unnecessary
    bool agrees = false;           // its mapped IP is the consensus
};

struct Consensus {
    Endpoint mapped;                   // from the first agreeing answer (ports differ per socket)
    std::vector<ServerAnswer> answers; // every server asked, in the order their answers came
    std::size_t agreeing() const;
};

// Asks the servers (in list order, `parallel` at a time) for the mapping of a fresh socket on
// local_ip (any port) over the transport. Answers agree when their mapped IPs are equal: each
// server gets its own socket, so mapped ports legitimately differ. Stops early once `quorum`
// answers agree. Succeeds with the IP most answers name; fails with Errc::unreachable when no
// server answered, and when the answers split evenly between IPs (no way to tell the liar).
// The executor must not run this concurrently with itself (one thread or a strand). Returns
// once every request it started has finished (the cancelled ones included).
asio::awaitable<Result<Consensus>> ask_servers(asio::any_io_executor executor, Transport transport,
                                               asio::ip::address local_ip, std::vector<HostPort> servers,
                                               ConsensusOptions options);

// The same over one STUN port (UDP): every server is asked from that port, all at once
// (`parallel` does not apply), so the answers are the port's own mapping as each server sees
// it; they agree when their mapped IPs are equal.
asio::awaitable<Result<Consensus>> ask_servers(StunPort& port, std::vector<HostPort> servers, ConsensusOptions options);

// ask_servers() over a port without the verdict: every server's answer (or why it has none),
// in the order they came; fails only on cancellation.
asio::awaitable<Result<std::vector<ServerAnswer>>> ask_each(StunPort& port, std::vector<HostPort> servers, ConsensusOptions options);

// The verdict on the answers collected: the IP most answers name, marking who agrees.
// Errc::unreachable when none answered or the answers split evenly between IPs.
Result<Consensus> settle(std::vector<ServerAnswer> answers, std::string_view what);

}  // namespace warpgate::stun
