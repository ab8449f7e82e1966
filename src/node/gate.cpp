#include <warpgate/gate.hpp>

#include <fmt/format.h>

#include "net/inbox.hpp"
#include "proto/pnp_client.hpp"

namespace warpgate {

struct Gate::Inbound {
    explicit Inbound(asio::any_io_executor ex) : queue(ex, 64) {}
    net::Inbox<PipePtr> queue;
    std::function<void(Link)> handler;
};

Gate::Gate(std::string name, std::unique_ptr<Node> node)
    : name_(std::move(name)), node_(std::move(node)), inbound_(std::make_unique<Inbound>(node_->get_executor())) {
    node_->on_inbound([inbound = inbound_.get()](PipePtr pipe) {
        if (inbound->handler) {
            inbound->handler(Link(std::move(pipe), "inbound"));
            return;
        }
        // A full accept queue means nobody accepts: refuse rather than grow.
        if (!inbound->queue.try_push(pipe)) pipe->close();
    });
}

Gate::Gate(Gate&&) noexcept = default;
Gate& Gate::operator=(Gate&&) noexcept = default;
Gate::~Gate() = default;  // Node's destructor closes everything

asio::awaitable<Gate> Gate::open(asio::any_io_executor ex, std::string name, GateOptions options) {
    if (name.empty()) name = "default";
    NodeOptions node_options;
    node_options.ips = options.ips;
    node_options.port = options.port;
    node_options.conf = options.conf;
    node_options.identity = "gate-" + name;
    auto node = co_await Node::open(ex, std::move(node_options), options.progress);
    co_return Gate(std::move(name), std::move(node));
}

asio::awaitable<Link> Gate::connect(const NodeAddress& peer, LinkOptions options) {
    // Not a braced temporary inside the co_await: GCC 12 destroys its vector twice.
    ConnectOptions connect_options;
    connect_options.transport = options.transport;
    connect_options.timeout = options.timeout;
    connect_options.plugins = std::move(options.plugins);
    connect_options.relay_after = options.relay_after;
    last_connect_ = co_await auto_connect(*node_, peer, std::move(connect_options));
    co_return Link(last_connect_.pipe, last_connect_.plugin);
}

asio::awaitable<Link> Gate::connect(std::string_view peer, LinkOptions options) {
    if (!peer.starts_with("wg1")) {
        auto found = co_await find(peer);
        auto link = co_await connect(found, std::move(options));
        co_return link;
    }
    auto address = parse_address_text(peer);
    if (!address) throw Exception(Errc::malformed, "bad peer address: " + address.error().message);
    auto link = co_await connect(*address, std::move(options));
    co_return link;
}

asio::awaitable<NodeAddress> Gate::find(std::string_view nickname) {
    auto value = co_await pnp::resolve(node_->get_executor(), node_->config().nickname_servers, nickname);
    if (!value) throw Exception(value.error());
    auto address = parse_address_text(*value);
    if (!address) throw Exception(Errc::malformed, fmt::format("nickname '{}' maps to no node address: {}", nickname, address.error().message));
    co_return *address;
}

asio::awaitable<Link> Gate::accept(std::chrono::milliseconds timeout) {
    auto pipe = co_await inbound_->queue.pop(timeout);
    co_return Link(std::move(pipe), "inbound");
}

void Gate::on_link(std::function<void(Link)> handler) {
    inbound_->handler = std::move(handler);
    while (auto pipe = inbound_->queue.try_pop()) inbound_->handler(Link(std::move(*pipe), "inbound"));
}

asio::awaitable<void> Gate::close() {
    inbound_->queue.close({Errc::closed, "gate closed"});
    while (auto pipe = inbound_->queue.try_pop()) (*pipe)->close();
    co_await node_->close();
}

}  // namespace warpgate
