#include "node/plugin_context.hpp"

#include <asio/steady_timer.hpp>
#include "log.hpp"

#include "net/timeout.hpp"
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"
#include "proto/stun_client.hpp"
#include "session/path.hpp"
#include "signal/signal_router.hpp"
#include "traversal/dial_policy.hpp"

namespace warpgate::node {
namespace {

std::vector<HostPort> mqtt_hints(const NodeAddress& peer) {
    std::vector<HostPort> out;
    for (auto& h : peer.hints)
        if (h.kind == ServerKind::mqtt) out.push_back(h.server);
    return out;
}

// The link the peer opens with our connection id, delivered by NodeImpl::claim. Unregisters
// itself when the wait ends for any reason, so no stale expectation stays behind.
class NodeExpectation final : public PluginContext::Expectation {
public:
    NodeExpectation(NodeImpl& node, const ConnectionId& id) : node_(node.weak_from_this()), id_(id), arrived_(node.executor) {
        auto state = state_;
        auto* timer = &arrived_;
        node.expected[id] = [state, timer](PipePtr pipe) {
            *state = std::move(pipe);
            timer->cancel();
        };
    }
    ~NodeExpectation() override {
        if (auto node = node_.lock()) node->expected.erase(id_);
    }
    NodeExpectation(const NodeExpectation&) = delete;
    NodeExpectation& operator=(const NodeExpectation&) = delete;

    asio::awaitable<PipePtr> wait(std::chrono::milliseconds timeout) override {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!*state_) {
            if (std::chrono::steady_clock::now() >= deadline)
                throw Exception(Errc::timeout, "the peer did not connect back within " + net::describe(timeout));
            arrived_.expires_at(deadline);
            asio::error_code ec;
            co_await arrived_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            auto stop = co_await net::cancelled();
            if (stop) throw Exception(Errc::cancelled, "waiting for the peer to connect back cancelled");
        }
        co_return *state_;
    }

private:
    std::weak_ptr<NodeImpl> node_;
    ConnectionId id_;
    std::shared_ptr<PipePtr> state_ = std::make_shared<PipePtr>();
    asio::steady_timer arrived_;
};

// A hole punch's view of the listen sockets: its token's records, and sending from them.
class NodePunchTap final : public PluginContext::PunchTap {
public:
    NodePunchTap(NodeImpl& node, const PluginContext::PunchToken& token, std::function<void(ByteView, const Endpoint&)> on_record)
        : node_(node.weak_from_this()), token_(token) {
        for (auto& server : node.udp_servers) sockets_.push_back(server->socket());
        node.demux->add_punch(token, [on_record = std::move(on_record)](ByteView record, const session::UdpSocketPtr&, const Endpoint& from) {
            on_record(record, from);
        });
    }
    ~NodePunchTap() override {
        if (auto node = node_.lock()) node->demux->remove_punch(token_);
    }
    NodePunchTap(const NodePunchTap&) = delete;
    NodePunchTap& operator=(const NodePunchTap&) = delete;

    bool send(const Endpoint& to, ByteView datagram) override {
        for (auto& socket : sockets_) {
            asio::error_code ec;
            if (!socket->is_open() || socket->local_endpoint(ec).address().is_v6() != to.ip.is_v6()) continue;
            socket->send_to(asio::buffer(datagram.data(), datagram.size()), asio::ip::udp::endpoint(to.ip, to.port), 0, ec);
            return true;
        }
        return false;
    }

private:
    std::weak_ptr<NodeImpl> node_;
    PluginContext::PunchToken token_;
    std::vector<session::UdpSocketPtr> sockets_;
};

// A claim on the listener's connections from one remote endpoint (Acceptor::claim_tcp).
class NodeInboundClaim final : public PluginContext::InboundClaim {
public:
    NodeInboundClaim(NodeImpl& node, Endpoint remote, std::function<void(PathPtr)> sink)
        : acceptor_(node.acceptor), remote_(remote) {
        if (auto acceptor = acceptor_.lock())
            acceptor->claim_tcp(remote_, [sink = std::move(sink)](std::shared_ptr<session::TcpPath> path) { sink(std::move(path)); });
    }
    ~NodeInboundClaim() override {
        if (auto acceptor = acceptor_.lock()) acceptor->release_tcp(remote_);
    }
    NodeInboundClaim(const NodeInboundClaim&) = delete;
    NodeInboundClaim& operator=(const NodeInboundClaim&) = delete;

private:
    std::weak_ptr<session::Acceptor> acceptor_;
    Endpoint remote_;
};

// Where this node is and listens: the dial policy's view of it.
traversal::DialScope dial_scope(const NodeImpl& node) {
    traversal::DialScope scope;
    scope.allow_loopback = node.conf().dial_back_loopback;
    for (auto& nic : node.ifs)
        for (auto& a : nic.addresses) {
            scope.networks.push_back({a.ip, a.prefix_len, nic.index});
            scope.own_endpoints.push_back({a.ip, node.port});
        }
    for (auto& ip : node.options.ips) scope.own_endpoints.push_back({ip, node.port});
    for (auto family : {IP4, IP6})
        for (auto& entry : node.address.entries(family)) {
            scope.own_endpoints.push_back({entry.nic_ip, entry.port});
            scope.own_endpoints.push_back({entry.external_ip, entry.port});
        }
    return scope;
}

class NodeContext final : public PluginContext {
public:
    NodeContext(std::weak_ptr<NodeImpl> node, std::uint8_t tag) : node_(std::move(node)), tag_(tag) {}

    asio::any_io_executor executor() const override { return node().executor; }
    const NodeConfig& config() const override { return node().conf(); }
    const NodeAddress& own_address() const override { return node().address; }
    const Bytes& own_address_bytes() const override { return node().address_bytes; }
    std::vector<Family> supported() const override {
        std::vector<Family> out;
        if (!node().address.v4.empty()) out.push_back(IP4);
        if (!node().address.v6.empty()) out.push_back(IP6);
        return out;
    }

    ClockReading clock() const override { return node().owner->clock_reading(); }

    asio::awaitable<PathPtr> dial(Transport transport, Endpoint target) override {
        auto& n = node();
        if (transport == UDP) co_return session::open_udp(n.executor, target, std::nullopt);
        auto path = co_await net::with_timeout(session::dial_tcp(target, std::nullopt), n.conf().connect_timeout,
                                               "connecting to " + target.to_string());
        co_return path;
    }

    asio::awaitable<PathPtr> dial_from_listen_port(Transport transport, Endpoint target, std::chrono::milliseconds unanswered) override {
        auto& n = node();
        if (transport == UDP) {
            for (auto& server : n.udp_servers)
                if (server->local_endpoint().ip.is_v6() == target.ip.is_v6())
                    co_return std::make_shared<session::UdpPath>(server->socket(), target);
            throw Exception(Errc::unreachable, "no UDP listen socket of " + target.to_string() + "'s family");
        }
        for (auto& server : n.tcp_servers) {
            if (server->local_endpoint().ip.is_v6() != target.ip.is_v6()) continue;
            auto path = co_await net::with_timeout(session::dial_tcp(target, server->local_endpoint(), unanswered), n.conf().connect_timeout,
                                                   "connecting to " + target.to_string() + " from the listen port");
            co_return path;
        }
        throw Exception(Errc::unreachable, "no TCP listen socket of " + target.to_string() + "'s family");
    }

    bool has_signaling() const override { return tag_ != 0 && node().signaling != nullptr; }

    asio::awaitable<void> signal(const NodeAddress& peer, ByteView payload) override {
        auto signaling = node().signaling;
        if (!signaling || tag_ == 0) throw Exception(Errc::unreachable, "signaling is off");
        auto hints = mqtt_hints(peer);
        if (hints.empty()) throw Exception(Errc::unreachable, "the peer's address names no MQTT broker");
        co_await signaling->send(peer.public_key, std::move(hints), static_cast<signal::SignalType>(tag_), payload);
    }

    void on_signal(std::function<void(PluginSignal)> handler) override {
        auto signaling = node().signaling;
        if (!signaling || tag_ == 0) return;
        signaling->on(static_cast<signal::SignalType>(tag_), [handler = std::move(handler)](const signal::SignalMessage& m) {
            handler({m.sender, m.payload});
        });
    }

    std::unique_ptr<Expectation> expect(ConnectionId con_id) override { return std::make_unique<NodeExpectation>(node(), con_id); }

    std::unique_ptr<PunchTap> tap_punch(PunchToken token, std::function<void(ByteView, const Endpoint&)> on_record) override {
        return std::make_unique<NodePunchTap>(node(), token, std::move(on_record));
    }

    asio::awaitable<void> dial_back(PathPtr path, const NodeAddress& peer, ConnectionId con_id) override {
        auto self = lock();
        auto pipe = co_await self->introduce(std::move(path), peer, con_id);
        if (!self->claim(con_id, pipe)) {
            log::info("no inbound handler for the link dialled back to {}: closed", pipe->remote_endpoint().to_string());
            pipe->close();
        }
    }

    void accept_path(PathPtr path) override {
        auto& n = node();
        if (auto tcp = std::dynamic_pointer_cast<session::TcpPath>(path)) {
            if (!n.acceptor) throw Exception(Errc::closed, "the node accepts no connections");
            n.acceptor->accept_tcp(std::move(tcp));
            return;
        }
        auto udp = std::dynamic_pointer_cast<session::UdpPath>(path);
        if (udp && !udp->owns_socket()) return;  // the listen socket's demultiplexer hears its hello
        if (!udp) {
            n.demux->serve_path(path, true);  // a relay's path: its hello goes to the acceptor
            return;
        }
        throw Exception(Errc::unsupported, "accept_path: a UDP path on a socket of its own is not served");
    }

    std::unique_ptr<InboundClaim> claim_inbound(Endpoint remote, std::function<void(PathPtr)> sink) override {
        return std::make_unique<NodeInboundClaim>(node(), remote, std::move(sink));
    }

    asio::awaitable<Endpoint> fresh_mapping(Transport transport, Family family) override {
        auto self = lock();
        auto& conf = self->conf();
        if (!conf.enable_stun_clients || conf.stun_servers.empty())
            throw Exception(Errc::unreachable, "no fresh mapping: STUN is off or no STUN server is configured");
        auto& entries = self->address.entries(family);
        if (entries.empty()) throw Exception(Errc::unreachable, std::string("no fresh mapping: no ") + to_string(family) + " address");
        // A NIC address of ours, any port: a new socket, so the NAT makes a new mapping.
        Endpoint local{entries.front().nic_ip, 0};
        stun::ClientOptions options;
        options.udp = stun::RetransmitPolicy::within(conf.stun_timeout);
        options.tcp_timeout = conf.stun_timeout;
        std::string failures;
        for (auto& server : conf.stun_servers) {
            auto resolved = co_await stun::resolve_server(self->executor, server, family, conf.stun_timeout);
            if (!resolved) {
                failures += "; " + resolved.error().message;
                continue;
            }
            auto result = co_await stun::binding(self->executor, transport, local, *resolved, options);
            if (result) co_return result->response.mapped;
            if (result.error().code == Errc::cancelled) throw Exception(result.error());
            failures += "; " + server.to_string() + ": " + result.error().message;
        }
        throw Exception(Errc::unreachable, std::string("no fresh ") + to_string(transport) + " mapping" + failures);
    }

    std::string why_not_dial(const Endpoint& target) const override {
        auto verdict = traversal::check_dial_target(dial_scope(node()), target);
        return verdict == traversal::DialVerdict::allowed ? std::string() : std::string(traversal::to_string(verdict));
    }

    void spawn(asio::awaitable<void> task, std::string name) override { node().tasks.spawn(std::move(task), std::move(name)); }

private:
    std::shared_ptr<NodeImpl> lock() const {
        auto n = node_.lock();
        if (!n || n->closed) throw Exception(Errc::closed, "the node was closed");
        return n;
    }
    NodeImpl& node() const { return *lock(); }

    std::weak_ptr<NodeImpl> node_;
    std::uint8_t tag_;
};

}  // namespace

std::unique_ptr<PluginContext> make_plugin_context(std::weak_ptr<NodeImpl> node, std::uint8_t signal_tag) {
    return std::make_unique<NodeContext>(std::move(node), signal_tag);
}

}  // namespace warpgate::node
