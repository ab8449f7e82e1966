#include <warpgate/node.hpp>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <spdlog/spdlog.h>
#include <warpgate/plugin.hpp>

#include "crypto/link_security.hpp"
#include "node/node_impl.hpp"
#include "signal/signal_router.hpp"

namespace warpgate {
namespace node {

NodeImpl::NodeImpl(asio::any_io_executor ex, NodeOptions opts) : executor(ex), options(std::move(opts)), tasks(ex) {}

PipeOptions NodeImpl::pipe_options() const { return {conf().max_message_size, conf().inbox_capacity}; }

void NodeImpl::track(const PipePtr& pipe) {
    // Drop entries of pipes that are gone, so a long-running node does not grow.
    std::erase_if(pipes, [](const std::weak_ptr<Pipe>& p) {
        auto alive = p.lock();
        return !alive || !alive->is_open();
    });
    pipes.push_back(pipe);
}

void NodeImpl::on_server_pipe(const PipePtr& pipe) {
    track(pipe);
    std::weak_ptr<NodeImpl> weak_self = shared_from_this();
    auto callbacks = pipe->subscribe({}, [weak_self](Message message, Endpoint from, Pipe& p) -> asio::awaitable<void> {
        auto self = weak_self.lock();
        if (!self) co_return;
        auto handlers = self->msg_callbacks;  // a callback may add another
        if (handlers.empty()) spdlog::debug("message from {} with no callback: dropped", from.to_string());
        for (auto& handler : handlers) co_await handler(message, from, p);
    });
    // A dialer opens with a hello (its connection id), then, for a secure link, the link
    // handshake; the pipe is claimed by its owner only once it is secured.
    struct Introduction {
        std::optional<net::Hello> hello;
        std::optional<crypto::Responder> responder;
        bool claimed = false;
    };
    auto intro = std::make_shared<Introduction>();
    std::weak_ptr<Pipe> weak_pipe = pipe;
    pipe->on_control([weak_self, weak_pipe, callbacks, intro](net::FrameType type, ByteView payload) {
        auto self = weak_self.lock();
        auto p = weak_pipe.lock();
        if (!self || !p) return;
        auto refuse = [&](const std::string& why) {
            spdlog::info("closing pipe from {}: {}", p->remote_endpoint().to_string(), why);
            p->close();
        };
        if (type == net::FrameType::hello) {
            auto hello = net::decode_hello(payload);
            if (!hello) return refuse("bad hello: " + hello.error().message);
            if (intro->hello) {
                if (*intro->hello != *hello) refuse("a second, different hello");
                return;  // a UDP dialer repeating itself
            }
            intro->hello = *hello;
            if (hello->secure) return;  // the handshake comes next
            if (self->conf().encrypt_links) return refuse("plaintext link refused: this node requires encryption");
        } else if (type == net::FrameType::handshake) {
            if (!intro->hello || !intro->hello->secure) return refuse("link handshake without a secure hello");
            if (!intro->responder) intro->responder.emplace(*self->identity);
            auto step = intro->responder->on_handshake(*p, payload);
            if (step == crypto::Responder::Step::refuse) return refuse("link handshake failed");
            if (step != crypto::Responder::Step::confirmed) return;
        } else {
            return;
        }
        if (intro->claimed) return;
        intro->claimed = true;
        // Claimed pipes leave the message callbacks: their messages belong to the link now.
        if (self->claim(intro->hello->id, p)) p->unsubscribe(callbacks);
    });
}

bool NodeImpl::claim(const net::ConnectionId& id, const PipePtr& pipe) {
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

void NodeImpl::shutdown() {
    closed = true;
    if (signaling) signaling->close();
    signaling.reset();
    for (auto& s : tcp_servers) s->close();
    for (auto& s : udp_servers) s->close();
    for (auto& weak : pipes)
        if (auto p = weak.lock()) p->close();
    pipes.clear();
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
node::NodeImpl& Node::impl() { return *impl_; }

}  // namespace warpgate
