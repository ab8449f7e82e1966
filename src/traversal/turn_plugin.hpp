// turn: the last resort, a path through TURN relays (RFC 8656) that works whatever the NATs
// do, as long as both nodes reach a relay (docs/turn.md).
//
//   initiator                                    callee
//   allocates on its first TURN server
//   that answers                     --offer-->   allocates on its own first server, binds a
//   {con_id, relayed address,                     channel to the initiator's relayed address
//    its node address}                            (the permission comes with it), hands the
//                                                 path to the node's acceptor (accept_path)
//                                    <--answer--  {con_id, its relayed address}
//   binds a channel to the callee's relayed
//   address, returns the path: the node introduces on it (hello, link handshake), end to
//   end through both relays, which see only sealed records.
//
// Over TCP the link is a stream through one TCP allocation the callee holds (RFC 6062,
// traversal/turn_tcp_relay.hpp), offered when a server is reached over TCP. Declined up
// front (with the reason) when no TURN server is configured, signaling is off, or for TCP
// when no server is reached over TCP. Every wait is bounded.
// The callee is a signed peer's tool for making us hold allocations, so offers are rate
// limited per key and in all, only so many allocations are held at once, and one that sees
// no hello within hello_timeout is deallocated.
#pragma once
#include <warpgate/plugin.hpp>

#include "net/rate_limit.hpp"

namespace warpgate::traversal {

struct TurnPluginOptions {
    std::chrono::milliseconds answer_timeout{5000};  // initiator: the callee allocates before it answers
    // Callee: an allocation whose path carried no hello by then is closed (the initiator
    // needs the answer, its channel and its hello: a few relay round trips).
    std::chrono::milliseconds hello_timeout{10000};
    net::RateLimit offers_per_key{8, std::chrono::seconds(10)};
    net::RateLimit offers_total{40, std::chrono::seconds(10)};
    std::size_t max_allocations = 16;  // callee allocations held at once (waiting or linked)
};

class TurnPlugin final : public Plugin {
public:
    explicit TurnPlugin(TurnPluginOptions options = {});
    std::string_view name() const override { return "turn"; }
    Phase phase() const override { return Phase::relay; }
    std::uint8_t signal_tag() const override { return 5; }  // SignalType::turn
    // One attempt, aimed at the first configured server (for TCP: the first one reached over
    // TCP, RFC 6062). UDP: an IPv6 relayed address for a peer whose address has IPv6 entries
    // only, else IPv4; the other family when our servers relay none of that one (440 Address
    // Family not Supported).
    std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) override;
    asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) override;
    // The callee's side: answers offers with an allocation of its own.
    void serve(PluginContext& ctx) override;

private:
    TurnPluginOptions options_;
    std::shared_ptr<class TurnTable> table_;
};

}  // namespace warpgate::traversal
