// A UDP forwarder on loopback standing in for a path the test controls: datagrams from
// clients go to `upstream` and back, each client through a socket of its own towards upstream
// (as a NAT's mapping would), and each datagram passes only when the drop rule says so (a
// direct path that opens late or never, a lossy link). Runs on the io_context given, until
// destroyed.
#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <warpgate/endpoint.hpp>

namespace warpgate::test {

class UdpForwarder {
public:
    enum class Direction { to_upstream, to_client };
    // True: drop this datagram.
    using DropRule = std::function<bool(Direction)>;

    UdpForwarder(asio::io_context& io, Endpoint upstream, DropRule drop);
    ~UdpForwarder();
    UdpForwarder(const UdpForwarder&) = delete;
    UdpForwarder& operator=(const UdpForwarder&) = delete;

    Endpoint endpoint() const;  // where clients send (127.0.0.1)
    std::size_t dropped() const { return state_->dropped; }
    std::size_t forwarded() const { return state_->forwarded; }

private:
    using Socket = asio::ip::udp::socket;
    // Shared with the forwarding tasks, which end when the sockets close.
    struct State {
        State(asio::io_context& io, Endpoint upstream, DropRule drop);
        asio::io_context& io;
        asio::ip::udp::endpoint upstream;
        DropRule drop;
        Socket front;
        std::map<asio::ip::udp::endpoint, std::shared_ptr<Socket>> back;
        std::size_t dropped = 0;
        std::size_t forwarded = 0;
    };
    static asio::awaitable<void> from_clients(std::shared_ptr<State> state);
    static asio::awaitable<void> to_client(std::shared_ptr<State> state, std::shared_ptr<Socket> back, asio::ip::udp::endpoint client);
    std::shared_ptr<State> state_;
};

}  // namespace warpgate::test
