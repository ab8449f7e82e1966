// The node's listening sockets: one TCP acceptor and one UDP socket per interface address, at
// one port. The TCP server hands each accepted socket on; the UDP socket is read by the
// session layer's demultiplexer (session/demux.hpp), which serves STUN, TURN and warpgate
// records on it alike.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <functional>
#include <memory>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

namespace warpgate::net {

using OnSocket = std::function<void(asio::ip::tcp::socket)>;

class TcpServer {
public:
    // Errc::address_in_use when the port is taken, Errc::io for other bind failures.
    static Result<std::unique_ptr<TcpServer>> bind(asio::any_io_executor ex, Endpoint at, bool reuse_addr);
    Endpoint local_endpoint() const { return local_; }
    // Accepts until close(). Out of descriptors (EMFILE and friends), it backs off (10 ms,
    // doubling to 1 s) instead of spinning, and says so once per 10 s.
    asio::awaitable<void> run(OnSocket on_socket);
    void close();

private:
    explicit TcpServer(asio::ip::tcp::acceptor acceptor);
    asio::ip::tcp::acceptor acceptor_;
    Endpoint local_;
};

class UdpServer {
public:
    static Result<std::unique_ptr<UdpServer>> bind(asio::any_io_executor ex, Endpoint at, bool reuse_addr);
    ~UdpServer();
    Endpoint local_endpoint() const { return local_; }
    const std::shared_ptr<asio::ip::udp::socket>& socket() const { return socket_; }
    void close();

private:
    explicit UdpServer(std::shared_ptr<asio::ip::udp::socket> socket);
    std::shared_ptr<asio::ip::udp::socket> socket_;
    Endpoint local_;
};

}  // namespace warpgate::net
