#include "traversal/signal_reach.hpp"

#include <algorithm>

namespace warpgate::traversal {

std::string why_cannot_signal(const PluginContext& ctx, const NodeAddress& peer) {
    if (!ctx.has_signaling()) return "signaling is off";
    bool broker = std::any_of(peer.hints.begin(), peer.hints.end(), [](const ServerHint& h) { return h.kind == ServerKind::mqtt; });
    return broker ? std::string() : "the peer's address names no MQTT broker";
}

}  // namespace warpgate::traversal
