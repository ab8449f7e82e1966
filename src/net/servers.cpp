#include "net/servers.hpp"

#include <asio/co_spawn.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include "log.hpp"

#include <asio/steady_timer.hpp>

namespace warpgate::net {
namespace {

Error bind_error(const char* proto, const Endpoint& at, const asio::error_code& ec) {
    if (ec == asio::error::address_in_use)
        return {Errc::address_in_use, std::string(proto) + " port " + std::to_string(at.port) + " on " + at.ip.to_string() +
                                          " is already in use (another node running? pick another --port)"};
    return {Errc::io, std::string("cannot bind ") + proto + " " + at.to_string() + ": " + ec.message()};
}

template <class Socket, class Endpoint_>
asio::error_code open_and_bind(Socket& socket, const Endpoint_& endpoint, bool reuse_addr) {
    asio::error_code ec;
    socket.open(endpoint.protocol(), ec);
    if (ec) return ec;
    // Separate sockets per family: an IPv6 socket must not also take the IPv4 port.
    if (endpoint.address().is_v6()) socket.set_option(asio::ip::v6_only(true), ec);
    // TCP listeners always: a node started again must not be refused for its last run's
    // connections in TIME_WAIT on the port (SO_REUSEADDR does not let two listeners share it).
    // UDP only when asked, as there it would let a second node take the port.
    if (reuse_addr || std::is_same_v<Socket, asio::ip::tcp::acceptor>) socket.set_option(asio::socket_base::reuse_address(true), ec);
    // A TCP socket may bind a port a listener holds only when both set SO_REUSEPORT (Linux):
    // STUN over TCP (and later TCP punching) from the listen port needs it. Not on UDP, where
    // a second socket on the port would take a share of the node's datagrams; the UDP bind
    // of the same port still tells when another node holds it.
    if constexpr (std::is_same_v<Socket, asio::ip::tcp::acceptor>)
        socket.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
    socket.bind(endpoint, ec);
    return ec;
}

}  // namespace

TcpServer::TcpServer(asio::ip::tcp::acceptor acceptor)
    : acceptor_(std::move(acceptor)), local_{acceptor_.local_endpoint().address(), acceptor_.local_endpoint().port()} {}

Result<std::unique_ptr<TcpServer>> TcpServer::bind(asio::any_io_executor ex, Endpoint at, bool reuse_addr) {
    asio::ip::tcp::acceptor acceptor(ex);
    if (auto ec = open_and_bind(acceptor, asio::ip::tcp::endpoint(at.ip, at.port), reuse_addr)) return tl::unexpected(bind_error("TCP", at, ec));
    asio::error_code ec;
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return tl::unexpected(bind_error("TCP", at, ec));
    return std::unique_ptr<TcpServer>(new TcpServer(std::move(acceptor)));
}

asio::awaitable<void> TcpServer::run(OnSocket on_socket) {
    auto backoff = std::chrono::milliseconds(10);
    auto last_warning = std::chrono::steady_clock::time_point{};
    std::uint64_t failures = 0;
    asio::steady_timer pause(acceptor_.get_executor());
    while (acceptor_.is_open()) {
        asio::error_code ec;
        auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        if (!ec) {
            backoff = std::chrono::milliseconds(10);
            on_socket(std::move(socket));
            continue;
        }
        // EMFILE and friends: the pending connection stays queued, so accepting again at once
        // would spin. Wait, and tell the operator (not on every failure).
        ++failures;
        auto now = std::chrono::steady_clock::now();
        if (now - last_warning >= std::chrono::seconds(10)) {
            log::warn("accept on {}: {} ({} failures so far; backing off up to 1 s)", local_.to_string(), ec.message(), failures);
            last_warning = now;
        }
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
}

void TcpServer::close() {
    asio::error_code ec;
    acceptor_.close(ec);
}

UdpServer::UdpServer(std::shared_ptr<asio::ip::udp::socket> socket)
    : socket_(std::move(socket)), local_{socket_->local_endpoint().address(), socket_->local_endpoint().port()} {}

UdpServer::~UdpServer() { close(); }

Result<std::unique_ptr<UdpServer>> UdpServer::bind(asio::any_io_executor ex, Endpoint at, bool reuse_addr) {
    auto socket = std::make_shared<asio::ip::udp::socket>(ex);
    if (auto ec = open_and_bind(*socket, asio::ip::udp::endpoint(at.ip, at.port), reuse_addr)) return tl::unexpected(bind_error("UDP", at, ec));
    return std::unique_ptr<UdpServer>(new UdpServer(std::move(socket)));
}

void UdpServer::close() {
    asio::error_code ec;
    socket_->close(ec);
}

}  // namespace warpgate::net
