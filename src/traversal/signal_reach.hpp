// What a signaling plugin needs before it plans anything: signaling up on our side, and a
// broker named in the peer's address to meet it at.
#pragma once
#include <string>
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

// "signaling is off", "the peer's address names no MQTT broker"; empty when we can signal.
std::string why_cannot_signal(const PluginContext& ctx, const NodeAddress& peer);

}  // namespace warpgate::traversal
