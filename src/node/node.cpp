#include <warpgate/node.hpp>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include "log.hpp"
#include <warpgate/plugin.hpp>

#include "node/node_impl.hpp"
#include "node/plugin_context.hpp"
#include "traversal/reverse_connect.hpp"
#include "signal/signal_router.hpp"

namespace warpgate {
namespace node {

NodeImpl::NodeImpl(asio::any_io_executor ex, NodeOptions opts) : executor(ex), options(std::move(opts)), tasks(ex) {}

PipeOptions NodeImpl::pipe_options() const { return {conf().max_message_size, conf().inbox_capacity}; }

session::SessionSettings NodeImpl::session_settings() const {
    return {conf().handshake_timeout, conf().keepalive_interval, conf().link_dead_timeout};
}

void NodeImpl::track(const PipePtr& pipe) {
    if (pipes.size() >= 2 * std::max<std::size_t>(pipes_after_prune, 16)) prune_pipes();
    pipes.push_back(pipe);
}

void NodeImpl::prune_pipes() {
    std::erase_if(pipes, [](const std::weak_ptr<Pipe>& p) {
        auto alive = p.lock();
        return !alive || !alive->is_open();
    });
    pipes_after_prune = pipes.size();
}

void NodeImpl::start_accepting() {
    session::AcceptorOptions options;
    options.identity = identity ? &*identity : nullptr;
    options.require_encryption = conf().encrypt_links;
    options.pipe = pipe_options();
    options.session = session_settings();
    options.max_half_open = conf().max_half_open;
    options.max_half_open_per_ip = conf().max_half_open_per_ip;
    options.max_pending_tcp = conf().max_pending_tcp;
    options.max_pending_tcp_per_ip = conf().max_pending_tcp_per_ip;
    acceptor = std::make_shared<session::Acceptor>(executor, options, demux);
    std::weak_ptr<NodeImpl> weak = shared_from_this();
    acceptor->start([weak](const std::shared_ptr<session::Session>& s, const ConnectionId& id) {
        if (auto self = weak.lock()) self->on_established(s, id);
    });
    for (auto& server : tcp_servers) {
        auto on_socket = [weak](asio::ip::tcp::socket socket) {
            if (auto self = weak.lock(); self && self->acceptor) self->acceptor->accept_tcp(std::move(socket));
        };
        tasks.spawn(server->run(on_socket), "tcp server");
    }
    for (auto& server : udp_servers) {
        stun_ports.push_back(std::make_unique<ListenStunPort>(server->socket()));
        tasks.spawn(demux->serve(server->socket(), true), "udp server");
    }
    // STUN answers on a listen socket go to that socket's port (phase 4 measures through it).
    demux->on_stun([weak](ByteView datagram, const session::UdpSocketPtr& socket, const Endpoint& from) {
        auto self = weak.lock();
        if (!self) return;
        for (auto& port : self->stun_ports)
            if (port->socket() == socket) port->on_datagram(datagram, from);
    });
}

void NodeImpl::on_established(const PipePtr& pipe, const ConnectionId& id) {
    track(pipe);
    if (claim(id, pipe)) return;
    // Nobody claimed it: the message callbacks serve it while it lives.
    std::weak_ptr<NodeImpl> weak_self = shared_from_this();
    pipe->subscribe({}, [weak_self](Message message, Endpoint from, Pipe& p) -> asio::awaitable<void> {
        auto self = weak_self.lock();
        if (!self) co_return;
        auto handlers = self->msg_callbacks;  // a callback may add another
        if (handlers.empty()) log::debug("message from {} with no callback: dropped", from.to_string());
        for (auto& handler : handlers) co_await handler(message, from, p);
    });
    std::erase_if(unclaimed, [](const auto& entry) { return !entry.second->is_open(); });
    unclaimed.emplace(pipe.get(), pipe);
}

bool NodeImpl::claim(const ConnectionId& id, const PipePtr& pipe) {
    if (auto it = expected.find(id); it != expected.end()) {
        auto take = std::move(it->second);
        expected.erase(it);
        take(pipe);
        return true;
    }
    if (inbound_handler) {
        inbound_handler(pipe);
        return true;
    }
    return false;
}

asio::awaitable<PipePtr> NodeImpl::introduce(PathPtr path, const NodeAddress& peer, ConnectionId con_id) {
    session::Initiation how;
    how.path = std::move(path);
    how.identity = conf().encrypt_links ? &*identity : nullptr;
    how.expected_peer_key = peer.public_key;
    how.con_id = con_id;
    how.pipe = pipe_options();
    how.settings = session_settings();
    how.demux = demux;
    auto session = co_await session::initiate(std::move(how));
    PipePtr pipe = session;
    track(pipe);
    co_return pipe;
}

PluginContext& NodeImpl::context_for(const Plugin& plugin) {
    auto& ctx = plugin_contexts[&plugin];
    if (!ctx) ctx = make_plugin_context(weak_from_this(), plugin.signal_tag());
    return *ctx;
}

void NodeImpl::shutdown() {
    closed = true;
    if (port_mapper) port_mapper->shutdown();
    if (signaling) signaling->close();
    signaling.reset();
    if (acceptor) acceptor->close();
    for (auto& weak : pipes)
        if (auto p = weak.lock()) p->close();
    pipes.clear();
    unclaimed.clear();
    demux->on_stun(nullptr);
    for (auto& s : tcp_servers) s->close();
    for (auto& s : udp_servers) s->close();
    expected.clear();
    inbound_handler = nullptr;
    tasks.cancel_all();
}

}  // namespace node

Node::Node(asio::any_io_executor ex, NodeOptions options)
    : impl_(std::make_shared<node::NodeImpl>(ex, std::move(options))) {
    impl_->owner = this;
}

Node::~Node() {
    if (!impl_->closed) impl_->shutdown();
}

asio::awaitable<std::unique_ptr<Node>> Node::open(asio::any_io_executor ex, NodeOptions options, StartOptions start) {
    auto node = std::make_unique<Node>(ex, std::move(options));
    co_await node->start(std::move(start));
    co_return node;
}

asio::awaitable<void> Node::close() {
    if (impl_->closed) co_return;
    // First, while the node still runs: the router's mappings are removed (bounded waits).
    if (impl_->port_mapper) co_await impl_->port_mapper->close();
    impl_->shutdown();
    co_await impl_->tasks.wait();
    // Pipe readers end on the next turns of the loop, once their sockets report the close.
    co_await asio::post(impl_->executor, asio::use_awaitable);
}

bool Node::started() const { return impl_->started; }
asio::any_io_executor Node::get_executor() const { return impl_->executor; }
const NodeConfig& Node::config() const { return impl_->conf(); }
const std::string& Node::node_id() const { return impl_->node_id; }
const Bytes& Node::public_key() const { return impl_->identity->public_key(); }
std::uint16_t Node::listen_port() const { return impl_->port; }
const Bytes& Node::address() const { return impl_->address_bytes; }
const NodeAddress& Node::node_address() const { return impl_->address; }
std::string Node::address_text() const { return to_text(impl_->address); }
const std::vector<Interface>& Node::interfaces() const { return impl_->ifs; }
std::vector<Family> Node::supported() const {
    std::vector<Family> out;
    if (!impl_->address.v4.empty()) out.push_back(IP4);
    if (!impl_->address.v6.empty()) out.push_back(IP6);
    return out;
}
std::vector<Endpoint> Node::listening() const {
    std::vector<Endpoint> out;
    for (auto& s : impl_->tcp_servers) out.push_back(s->local_endpoint());
    return out;
}
const std::vector<PhaseReport>& Node::phases() const { return impl_->phases; }
void Node::add_msg_cb(Handler callback) { impl_->msg_callbacks.push_back(std::move(callback)); }
void Node::on_inbound(std::function<void(PipePtr)> handler) { impl_->inbound_handler = std::move(handler); }
PluginRegistry& Node::plugins() { return impl_->plugins; }
std::vector<PortMapping> Node::port_mappings() const {
    return impl_->port_mapper ? impl_->port_mapper->mappings() : std::vector<PortMapping>{};
}

NodeStats Node::stats() const {
    auto& n = *impl_;
    NodeStats out;
    for (auto& weak : n.pipes)
        if (auto p = weak.lock(); p && p->is_open()) ++out.links;
    auto add = [&](const char* component, const net::RefusalLog& log) {
        for (auto& [reason, count] : log.counts()) out.refused[std::string(component) + ": " + reason] += count;
    };
    if (n.acceptor) {
        out.half_open = n.acceptor->half_open();
        out.pending_tcp = n.acceptor->pending_tcp();
        add("listener", n.acceptor->refusals());
    }
    if (n.signaling) add("signaling", n.signaling->refusals());
    if (auto rc = std::dynamic_pointer_cast<traversal::ReverseConnect>(n.plugins.find("reverse_connect")); rc && rc->guard())
        add("reverse_connect", rc->guard()->refusals());
    out.datagrams_for_no_session = n.demux->stats().unknown_session;
    out.datagrams_not_ours = n.demux->stats().not_ours;
    return out;
}
node::NodeImpl& Node::impl() { return *impl_; }

}  // namespace warpgate
