// Traversal plugins: each turns a peer's address into pipes by one strategy. auto_connect
// asks every plugin for its attempts and races them, phase after staggered phase
// (docs/race.md).
#pragma once
#include <asio/awaitable.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <warpgate/address.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/pipe.hpp>

namespace warpgate {

class Node;

// Phases start in this order, each a short stagger after the previous one (at once when the
// NAT facts rule the earlier ones out); strategies of one phase race each other. The original stopped
// racing every phase at once: it tripped half-open SYN limits, router flow caps (~256 flows)
// and port-scan heuristics.
enum class Phase : std::uint8_t { direct = 1, punch = 2, spray = 3, relay = 4 };
const char* to_string(Phase p) noexcept;

// Which way a packet goes to reach the peer.
enum class Route : std::uint8_t { loopback = 1, lan = 2, external = 3 };
const char* to_string(Route r) noexcept;

using ConnectionId = std::array<std::uint8_t, 16>;

// One concrete try: a plugin, a family, a route and (for dialing plugins) a target.
struct Attempt {
    std::string plugin;
    Transport transport = TCP;
    Family family = IP4;
    Route route = Route::external;
    Endpoint target;
    ConnectionId con_id{};  // sent first on the pipe so both sides can match it (CON_ID_MSG)
    std::string describe() const;  // "direct_connect TCP IPv4 loopback 127.0.0.1:4000"
};

class Plugin {
public:
    virtual ~Plugin() = default;
    virtual std::string_view name() const = 0;
    virtual Phase phase() const = 0;
    // The attempts this plugin would make to `peer` (every family x route it can serve for
    // this situation); empty when it cannot help. Cheap and synchronous.
    virtual std::vector<Attempt> plan(Node& node, const NodeAddress& peer, Transport transport) = 0;
    // Why plan() has nothing for this peer, for auto_connect's report ("signaling is off",
    // "no MQTT hint in the peer's address"); empty when the plugin does not say.
    virtual std::string why_not(Node& node, const NodeAddress& peer, Transport transport) {
        (void)node, (void)peer, (void)transport;
        return {};
    }
    // Makes the attempt. Returns a started pipe that has sent its connection id; throws
    // Exception with the reason it failed. Cancellation must close whatever it opened.
    virtual asio::awaitable<PipePtr> attempt(Node& node, const NodeAddress& peer, Attempt attempt) = 0;
};

class PluginRegistry {
public:
    // The built-in plugins of this build (direct_connect, ...).
    static PluginRegistry builtin();
    void add(std::shared_ptr<Plugin> plugin);  // replaces a plugin of the same name
    std::shared_ptr<Plugin> find(std::string_view name) const;
    const std::vector<std::shared_ptr<Plugin>>& all() const { return plugins_; }

private:
    std::vector<std::shared_ptr<Plugin>> plugins_;
};

}  // namespace warpgate
