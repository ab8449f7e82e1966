#include <fmt/format.h>
#include <warpgate/plugin.hpp>

#include "traversal/direct_connect.hpp"
#include "traversal/reverse_connect.hpp"
#include "traversal/tcp_punch.hpp"
#include "traversal/udp_punch.hpp"
#include "traversal/turn_plugin.hpp"

namespace warpgate {

const char* to_string(Phase p) noexcept {
    switch (p) {
        case Phase::direct: return "direct";
        case Phase::punch: return "punch";
        case Phase::spray: return "spray";
        case Phase::relay: return "relay";
    }
    return "?";
}

const char* to_string(Route r) noexcept {
    switch (r) {
        case Route::loopback: return "loopback";
        case Route::lan: return "LAN";
        case Route::external: return "external";
    }
    return "?";
}

std::string Attempt::describe() const {
    return fmt::format("{} {} {} {} {}", plugin, to_string(transport), to_string(family), to_string(route), target.to_string());
}

PluginRegistry PluginRegistry::builtin() {
    PluginRegistry r;
    r.add(std::make_shared<traversal::DirectConnect>());
    r.add(std::make_shared<traversal::ReverseConnect>());
    r.add(std::make_shared<traversal::TcpPunch>());
    r.add(std::make_shared<traversal::UdpPunch>());
    r.add(std::make_shared<traversal::TurnPlugin>());
    return r;
}

void PluginRegistry::add(std::shared_ptr<Plugin> plugin) {
    std::erase_if(plugins_, [&](const auto& p) { return p->name() == plugin->name(); });
    plugins_.push_back(std::move(plugin));
}

std::shared_ptr<Plugin> PluginRegistry::find(std::string_view name) const {
    for (auto& p : plugins_)
        if (p->name() == name) return p;
    return nullptr;
}

}  // namespace warpgate
