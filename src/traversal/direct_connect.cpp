#include "traversal/direct_connect.hpp"

#include "traversal/dial_policy.hpp"

namespace warpgate::traversal {
namespace {

asio::ip::address loopback(Family f) {
    if (f == IP6) return asio::ip::address_v6::loopback();
    return asio::ip::address_v4::loopback();
}

}  // namespace

std::vector<Attempt> DirectConnect::plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) {
    std::vector<Attempt> attempts;
    auto add = [&](Family family, Route route, const asio::ip::address& ip, std::uint16_t port) {
        Endpoint target{ip, port};
        for (auto& a : attempts)
            if (a.target == target) return;  // one attempt per destination
        attempts.push_back({std::string(name()), transport, family, route, target, {}});
    };
    auto& ours = ctx.own_address();
    for (auto family : ctx.supported()) {
        auto& entries = peer.entries(family);
        if (entries.empty()) continue;
        if (peer.machine_id == ours.machine_id) add(family, Route::loopback, loopback(family), entries.front().port);
        for (auto& theirs : entries) {
            for (auto& mine : ours.entries(family)) {
                // Same LAN: their NIC is in our subnet, or we share an external address (same NAT).
                bool lan = same_subnet(theirs.nic_ip, mine.nic_ip, std::min(theirs.prefix_len, mine.prefix_len)) ||
                           (theirs.external_ip == mine.external_ip && theirs.external_ip != theirs.nic_ip);
                if (lan) add(family, theirs.nic_ip.is_loopback() ? Route::loopback : Route::lan, theirs.nic_ip, theirs.port);
            }
            // Reachable from outside: a public NIC address, what STUN saw, or a router's port mapping.
            auto outside = theirs.external_endpoint();
            add(family, Route::external, outside.ip, outside.port);
        }
    }
    if (attempts.empty()) why_not = "no address family in common with the peer";
    return attempts;
}

asio::awaitable<Reached> DirectConnect::attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) {
    (void)peer;
    auto path = co_await ctx.dial(attempt.transport, attempt.target);
    co_return Reached{std::move(path), nullptr};
}

}  // namespace warpgate::traversal
