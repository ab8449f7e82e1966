// The node's listening sockets: one TCP acceptor and one UDP socket per interface address.
// Each new peer becomes a Pipe; the owner installs its handlers in `on_pipe`, after which the
// server starts the pipe.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <warpgate/pipe.hpp>

namespace warpgate::net {

class UdpServerPipe;
using OnPipe = std::function<void(const PipePtr&)>;

class TcpServer {
public:
    // Errc::address_in_use when the port is taken, Errc::io for other bind failures.
    static Result<std::unique_ptr<TcpServer>> bind(asio::any_io_executor ex, Endpoint at, bool reuse_addr);
    Endpoint local_endpoint() const { return local_; }
    // Accepts until close(); each connection becomes a started pipe.
    asio::awaitable<void> run(OnPipe on_pipe, PipeOptions options);
    void close();

private:
    explicit TcpServer(asio::ip::tcp::acceptor acceptor);
    asio::ip::tcp::acceptor acceptor_;
    Endpoint local_;
};

class UdpServer {
public:
    // A peer table bound: datagrams from new senders beyond it are ignored (memory stays bounded).
    static constexpr std::size_t max_peers = 4096;

    static Result<std::unique_ptr<UdpServer>> bind(asio::any_io_executor ex, Endpoint at, bool reuse_addr);
    ~UdpServer();
    Endpoint local_endpoint() const { return local_; }
    // Receives until close(), routing each datagram to its sender's pipe (made on first sight).
    asio::awaitable<void> run(OnPipe on_pipe, PipeOptions options);
    // Closes the socket and every peer pipe.
    void close();
    std::size_t peers() const { return peers_.size(); }

private:
    explicit UdpServer(std::shared_ptr<asio::ip::udp::socket> socket);
    std::shared_ptr<asio::ip::udp::socket> socket_;
    Endpoint local_;
    std::map<asio::ip::udp::endpoint, std::shared_ptr<UdpServerPipe>> peers_;
};

}  // namespace warpgate::net
