// direct_connect: dial the peer's listening address. Picks the right destination for where
// the peer is: same machine (loopback), same LAN (its NIC address), or its external address.
#pragma once
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

class DirectConnect final : public Plugin {
public:
    std::string_view name() const override { return "direct_connect"; }
    Phase phase() const override { return Phase::direct; }
    std::vector<Attempt> plan(Node& node, const NodeAddress& peer, Transport transport) override;
    std::string why_not(Node&, const NodeAddress&, Transport) override { return "no address family both nodes have"; }
    asio::awaitable<PipePtr> attempt(Node& node, const NodeAddress& peer, Attempt attempt) override;
};

// Shared by every plugin that produces a pipe: send the attempt's connection id, then run
// the link handshake against the peer's public key (its answer also proves the pipe is
// alive: connected sockets were sometimes dead in the original), or with encrypt_links off,
// a liveness ping.
asio::awaitable<void> introduce(Node& node, Pipe& pipe, const Attempt& attempt, const NodeAddress& peer);

}  // namespace warpgate::traversal
