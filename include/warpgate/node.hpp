// A Node: identity, interfaces, servers on every interface, a node address to share, message
// callbacks, and the traversal plugins that auto_connect races. Most users want Gate.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <warpgate/address.hpp>
#include <warpgate/clock.hpp>
#include <warpgate/config.hpp>
#include <warpgate/interface.hpp>
#include <warpgate/pipe.hpp>
#include <warpgate/port_mapping.hpp>

namespace warpgate {

class PluginRegistry;
namespace node {
struct NodeImpl;
}

struct NodeOptions {
    NodeOptions() = default;  // not an aggregate (see GateOptions in gate.hpp)
    std::vector<Interface> ifs;            // pre-loaded interfaces; discovered when empty
    std::vector<asio::ip::address> ips;    // listen only on these (e.g. 127.0.0.1 for same-machine use)
    std::optional<std::uint16_t> port;     // 0: any free port; unset: derived from the machine id
    NodeConfig conf = NodeConfig::production();
    std::string identity = "node";         // key file name under <data dir>/keys/ (Gate uses its name)
};

struct StartOptions {
    StartOptions() = default;  // not an aggregate (see GateOptions in gate.hpp)
    StartOptions(std::function<void(std::string_view)> progress) : progress(std::move(progress)) {}  // start({printer})
    // Progress lines while starting (the original's out/cout); nothing when empty.
    std::function<void(std::string_view)> progress;
};

// How one start() phase went: its name, how long it took, and what it did or why it was skipped.
struct PhaseReport {
    std::string name;
    std::chrono::microseconds duration{0};
    std::string outcome;
};

// What the node holds and what it refused, for operators (listen --json, SIGUSR1).
struct NodeStats {
    std::size_t links = 0;        // open links
    std::size_t half_open = 0;    // introductions awaiting key confirmation
    std::size_t pending_tcp = 0;  // TCP connections that sent no hello yet
    // "<component>: <reason>" -> count, e.g. "listener: plaintext hello", "reverse_connect: loopback"
    std::map<std::string, std::uint64_t> refused;
    std::uint64_t datagrams_for_no_session = 0;  // records naming an id nobody holds
    std::uint64_t datagrams_not_ours = 0;        // neither STUN nor warpgate
};

class Node {
public:
    Node(asio::any_io_executor ex, NodeOptions options = {});
    // Safe without close(): sockets are closed and tasks cancelled here.
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Runs the start phases of docs/node.md in order (phase 4's three in parallel).
    // Throws Exception with a clear message on failure (keystore, port in use, no interface).
    asio::awaitable<void> start(StartOptions options = {});
    // Convenience: construct and start.
    static asio::awaitable<std::unique_ptr<Node>> open(asio::any_io_executor ex, NodeOptions options = {},
                                                       StartOptions start = {});
    // Cancels every task, closes every pipe and server, waits for them to end. Idempotent.
    asio::awaitable<void> close();

    bool started() const;
    asio::any_io_executor get_executor() const;
    const NodeConfig& config() const;

    // Identity
    const std::string& node_id() const;     // first 25 hex digits of sha256(public key)
    const Bytes& public_key() const;        // compressed secp256k1
    std::uint16_t listen_port() const;

    // Where the node is: binary form to share, the parsed form, the text form for humans.
    const Bytes& address() const;
    const NodeAddress& node_address() const;
    std::string address_text() const;

    const std::vector<Interface>& interfaces() const;
    std::vector<Family> supported() const;  // [IP4], [IP6] or [IP4, IP6]
    std::vector<Endpoint> listening() const;  // every bound server endpoint (TCP and UDP share them)
    const std::vector<PhaseReport>& phases() const;
    ClockReading clock_reading() const;

    // Called for every message on every server pipe not claimed by a link.
    void add_msg_cb(Handler callback);

    // Inbound links: pipes whose dialer opened with a connection id not expected by anyone.
    // Without a handler they stay with the message callbacks.
    void on_inbound(std::function<void(PipePtr)> handler);

    PluginRegistry& plugins();
    NodeStats stats() const;
    // The listen port's mappings on the router (enable_upnp), as last granted or renewed.
    std::vector<PortMapping> port_mappings() const;

    node::NodeImpl& impl();  // for warpgate's own layers

private:
    std::shared_ptr<node::NodeImpl> impl_;
};

}  // namespace warpgate
