// reverse_connect: when the peer cannot be dialed (behind NAT) but we can (public address or a
// forwarded port), ask it over signaling to dial us. The pipe it opens arrives at our servers
// with the attempt's connection id and is handed to the waiting attempt (NodeImpl::expected).
//
// connect_back payload (signal type SignalType::connect_back, inside the sealed, signed
// signal envelope; docs/signaling.md):
//   version(1) = 1 | connection id(16) | transport(1: 1 TCP, 2 UDP) | caller's node address
#pragma once
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

class ReverseConnect final : public Plugin {
public:
    std::string_view name() const override { return "reverse_connect"; }
    Phase phase() const override { return Phase::direct; }
    // One attempt per address family both nodes have, when the peer names MQTT brokers and our
    // signaling is up.
    std::vector<Attempt> plan(Node& node, const NodeAddress& peer, Transport transport) override;
    std::string why_not(Node& node, const NodeAddress& peer, Transport transport) override;
    asio::awaitable<PipePtr> attempt(Node& node, const NodeAddress& peer, Attempt attempt) override;
};

// The callee's side: answers connect_back requests arriving on the node's signaling by dialing
// the caller (direct_connect's plan and attempt) with the caller's connection id, then hands the
// pipe to the node's inbound handler. Called once signaling is up.
void answer_connect_back(Node& node);

struct ConnectBack {
    static constexpr std::uint8_t version = 1;
    ConnectionId con_id{};
    Transport transport = TCP;
    Bytes caller_address;  // NodeAddress binary form
};
Bytes encode_connect_back(const ConnectBack& request);
Result<ConnectBack> decode_connect_back(ByteView payload);

}  // namespace warpgate::traversal
