// direct_connect: dial the peer's listening address. Picks the right destination for where
// the peer is: same machine (loopback), same LAN (its NIC address), or its external address.
#pragma once
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

class DirectConnect final : public Plugin {
public:
    std::string_view name() const override { return "direct_connect"; }
    Phase phase() const override { return Phase::direct; }
    std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) override;
    // A raw path to the attempt's target; the node introduces it.
    asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) override;
};

}  // namespace warpgate::traversal
