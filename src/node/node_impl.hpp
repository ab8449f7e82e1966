// The state behind a Node handle. Tasks hold it by shared_ptr, so a Node destroyed without
// close() never leaves a task pointing at freed memory.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <warpgate/node.hpp>
#include <warpgate/plugin.hpp>

#include "crypto/identity.hpp"
#include "nat/nat_discovery.hpp"
#include "nat/port_mapper.hpp"
#include "node/listen_stun_port.hpp"
#include "net/servers.hpp"
#include "session/acceptor.hpp"
#include "session/demux.hpp"
#include "session/introduction.hpp"
#include "net/task_group.hpp"
#include "node/clock.hpp"
#include "node/machine.hpp"

namespace warpgate::signal {
class SignalRouter;
}

namespace warpgate::node {

struct NodeImpl : std::enable_shared_from_this<NodeImpl> {
    NodeImpl(asio::any_io_executor ex, NodeOptions opts);

    asio::any_io_executor executor;
    Node* owner = nullptr;  // the handle (never moved: Node is neither copyable nor movable)
    NodeOptions options;
    const NodeConfig& conf() const { return options.conf; }
    node::Clock clock{clock_options(options.conf)};  // synced by start phase 4 (init_clock_skew)
    bool started = false;
    bool closed = false;

    std::vector<Interface> ifs;
    std::optional<crypto::IdentityKey> identity;
    std::string node_id;
    MachineId machine_id{};
    std::uint16_t port = 0;

    // Phase 4's STUN results per listen address (external address and port, NAT and delta
    // type), measured on the listen sockets themselves.
    std::map<asio::ip::address, nat::NatReport> nat_reports;
    std::vector<std::unique_ptr<ListenStunPort>> stun_ports;  // one per UDP listen socket

    std::vector<std::unique_ptr<net::TcpServer>> tcp_servers;
    std::vector<std::unique_ptr<net::UdpServer>> udp_servers;
    NodeAddress address;
    Bytes address_bytes;
    std::vector<PhaseReport> phases;
    PluginRegistry plugins = PluginRegistry::builtin();

    std::vector<Handler> msg_callbacks;
    std::function<void(PipePtr)> inbound_handler;
    // Connection ids a plugin waits for (reverse connect): the dialer's link is handed over.
    std::map<ConnectionId, std::function<void(PipePtr)>> expected;
    std::shared_ptr<nat::PortMapper> port_mapper;  // enable_upnp: the listen port's mappings (start phase 9)
    std::shared_ptr<signal::SignalRouter> signaling;  // MQTT signaling; null when off (start phase 4)
    // Records to sessions (every UDP socket), and the listeners' introductions.
    std::shared_ptr<session::Demux> demux = std::make_shared<session::Demux>();
    std::shared_ptr<session::Acceptor> acceptor;
    // Inbound links nobody claimed: they serve the message callbacks until they close.
    std::map<Pipe*, PipePtr> unclaimed;
    std::vector<std::weak_ptr<Pipe>> pipes;  // every link the node made, closed by close()
    std::size_t pipes_after_prune = 0;        // live entries the last prune_pipes() left
    std::map<const Plugin*, std::unique_ptr<PluginContext>> plugin_contexts;
    net::TaskGroup tasks;

    PipeOptions pipe_options() const;
    session::SessionSettings session_settings() const;
    // Adds to `pipes`, pruning it once it doubled since the last prune: a scan of every link
    // per new link made establishing n links cost n^2 / 2 weak_ptr locks.
    void track(const PipePtr& pipe);
    void prune_pipes();  // drops entries of pipes that are gone or closed
    // Starts introductions on the listen sockets (phase 7).
    void start_accepting();
    // An inbound link whose introduction completed: to whoever expects its id, else to the
    // inbound handler, else to the message callbacks.
    void on_established(const PipePtr& pipe, const ConnectionId& id);
    bool claim(const ConnectionId& id, const PipePtr& pipe);
    // The dialler's introduction on a raw path, checked against `peer`'s key.
    asio::awaitable<PipePtr> introduce(PathPtr path, const NodeAddress& peer, ConnectionId con_id);
    // A narrow context for one plugin (its own signal tag).
    PluginContext& context_for(const Plugin& plugin);
    // Synchronous part of close(): no socket stays open, every task is told to stop.
    void shutdown();
};

}  // namespace warpgate::node
