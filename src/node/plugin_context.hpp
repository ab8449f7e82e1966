// The node's side of PluginContext (include/warpgate/plugin.hpp): what one plugin may use of
// the node, under its own signal tag. Holds the node weakly: a plugin task that outlives
// close() finds it gone instead of freed.
#pragma once
#include <memory>
#include <warpgate/plugin.hpp>

namespace warpgate::node {

struct NodeImpl;

std::unique_ptr<PluginContext> make_plugin_context(std::weak_ptr<NodeImpl> node, std::uint8_t signal_tag);

}  // namespace warpgate::node
