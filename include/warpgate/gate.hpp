// Gate: the layer most users want. A node with a stable identity named by the user, started
// for you, with outbound links from connect() and inbound ones from accept() or on_link().
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <warpgate/auto_connect.hpp>
#include <warpgate/link.hpp>
#include <warpgate/node.hpp>

namespace warpgate {

struct GateOptions {
    // Not an aggregate: GCC 12 destroys an aggregate temporary with initialised members twice
    // when it is built inside a co_await (`co_await f({.x = ...})`, or a defaulted `= {}`
    // argument); a constructor makes that safe and designated initialisers a compile error.
    GateOptions() = default;
    NodeConfig conf = NodeConfig::production();
    std::vector<asio::ip::address> ips;   // listen only here (127.0.0.1 for same-machine use)
    std::optional<std::uint16_t> port;    // unset: derived from the machine id and the name
    std::function<void(std::string_view)> progress;
};

struct LinkOptions {
    LinkOptions() = default;  // not an aggregate (see GateOptions)
    LinkOptions(Transport transport, std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : transport(transport), timeout(timeout) {}  // connect(peer, {UDP, 5s})
    Transport transport = TCP;
    std::chrono::milliseconds timeout{10000};
    std::vector<std::string> plugins;  // empty: all
    // How long a relayed path waits for a direct one to link first (ConnectOptions::relay_after).
    std::chrono::milliseconds relay_after{1000};
};

class Gate {
public:
    // `name` selects the identity: the same name on the same machine is the same node id.
    static asio::awaitable<Gate> open(asio::any_io_executor ex, std::string name, GateOptions options = {});
    Gate(Gate&&) noexcept;
    Gate& operator=(Gate&&) noexcept;
    ~Gate();

    asio::awaitable<Link> connect(const NodeAddress& peer, LinkOptions options = {});
    // peer: address text ("wg1...") or a nickname (find()).
    asio::awaitable<Link> connect(std::string_view peer, LinkOptions options = {});
    // The address a nickname ("alice" or "alice.p2p", docs/pnp.md) maps to on the configured
    // nickname servers (NodeConfig::nickname_servers), as registered: it resolves the moment
    // the owner's registration returned. Throws Errc::config with no server configured,
    // Errc::unreachable when no server holds the name, Errc::malformed when its value is no
    // node address; a server's transport error otherwise.
    asio::awaitable<NodeAddress> find(std::string_view nickname);
    // The next inbound link. Throws Errc::timeout.
    asio::awaitable<Link> accept(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Inbound links go to `handler` instead of accept().
    void on_link(std::function<void(Link)> handler);

    const std::string& name() const { return name_; }
    std::string address_text() const { return node_->address_text(); }
    Node& node() { return *node_; }
    // The last connect()'s report: every attempt and the winner.
    const ConnectResult& last_connect() const { return last_connect_; }

    asio::awaitable<void> close();

private:
    struct Inbound;
    Gate(std::string name, std::unique_ptr<Node> node);
    std::string name_;
    std::unique_ptr<Node> node_;
    std::unique_ptr<Inbound> inbound_;
    ConnectResult last_connect_;
};

}  // namespace warpgate
