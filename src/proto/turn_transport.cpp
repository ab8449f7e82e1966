#include "proto/turn_transport.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "net/timeout.hpp"
#include "proto/turn.hpp"

namespace warpgate::turn {

namespace {

Endpoint to_endpoint(const asio::ip::udp::endpoint& e) { return {e.address(), e.port()}; }
Endpoint to_endpoint(const asio::ip::tcp::endpoint& e) { return {e.address(), e.port()}; }

Error receive_error(const asio::error_code& ec, const Endpoint& server) {
    if (ec == asio::error::operation_aborted) return {Errc::cancelled, "closed"};
    if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated)
        return {Errc::closed, fmt::format("TURN server {} closed the connection", server.to_string())};
    if (ec == asio::error::connection_refused)
        return {Errc::closed, fmt::format("TURN server {} is gone (ICMP port unreachable)", server.to_string())};
    return {Errc::io, fmt::format("receiving from TURN server {}: {}", server.to_string(), ec.message())};
}

// Frames from concurrent senders must not interleave on a stream: a one-slot channel is the
// lock (the same as session::TcpPath).
class WriteLock {
public:
    explicit WriteLock(asio::any_io_executor ex) : slot_(ex, 1) {}
    asio::awaitable<void> acquire() { co_await slot_.async_send(asio::error_code{}, true, asio::use_awaitable); }
    void release() { slot_.try_receive([](asio::error_code, bool) {}); }

private:
    asio::experimental::channel<void(asio::error_code, bool)> slot_;
};

class UdpTransport final : public Transport {
public:
    UdpTransport(asio::ip::udp::socket socket, Endpoint server) : socket_(std::move(socket)), server_(server) {}
    bool reliable() const override { return false; }
    // A closed socket has no local endpoint: describe() after close must not throw.
    Endpoint local() const override {
        asio::error_code ec;
        return to_endpoint(socket_.local_endpoint(ec));
    }

    asio::awaitable<void> send(ByteView frame) override {
        asio::error_code ec;
        co_await socket_.async_send(asio::buffer(frame.data(), frame.size()), asio::redirect_error(asio::use_awaitable, ec));
        if (!socket_.is_open()) throw Exception(Errc::closed, "the TURN client is closed");
        // A datagram that cannot leave (ICMP residue, a full buffer) is lost, not fatal:
        // retransmission or the caller copes, and receive() reports a dead server.
        (void)ec;
    }

    asio::awaitable<Error> receive(FrameSink sink) override {
        Bytes buffer(65536);
        for (;;) {
            asio::error_code ec;
            auto n = co_await socket_.async_receive(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
            if (!socket_.is_open()) co_return Error{Errc::cancelled, "closed"};
            if (ec) co_return receive_error(ec, server_);
            if (n > 0) sink(ByteView(buffer.data(), n));
        }
    }

    void close() noexcept override {
        asio::error_code ec;
        socket_.close(ec);
    }

private:
    asio::ip::udp::socket socket_;  // connected: only the server's datagrams arrive
    Endpoint server_;
};

// TCP or TLS: Stream is asio::ip::tcp::socket or asio::ssl::stream<asio::ip::tcp::socket>.
template <class Stream>
class StreamTransport final : public Transport {
public:
    template <class... Args>
    StreamTransport(std::shared_ptr<asio::ssl::context> context, Endpoint server, Args&&... args)
        : context_(std::move(context)), stream_(std::forward<Args>(args)...), server_(server), lock_(stream_.get_executor()) {}

    Stream& stream() { return stream_; }
    bool reliable() const override { return true; }
    Endpoint local() const override {
        asio::error_code ec;
        return to_endpoint(stream_.lowest_layer().local_endpoint(ec));
    }

    asio::awaitable<void> send(ByteView frame) override {
        co_await lock_.acquire();
        struct Unlock {
            WriteLock& lock;
            ~Unlock() { lock.release(); }
        } unlock{lock_};
        if (!stream_.lowest_layer().is_open()) throw Exception(Errc::closed, "the TURN client is closed");
        asio::error_code ec;
        co_await asio::async_write(stream_, asio::buffer(frame.data(), frame.size()), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            close();  // a frame cut short leaves the stream unusable
            throw Exception(Errc::io, fmt::format("sending to TURN server {}: {}", server_.to_string(), ec.message()));
        }
    }

    asio::awaitable<Error> receive(FrameSink sink) override {
        Bytes frame;
        for (;;) {
            frame.resize(frame_header_size);
            asio::error_code ec;
            co_await asio::async_read(stream_, asio::buffer(frame), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return receive_error(ec, server_);
            auto size = stream_frame_size(frame);
            if (!size) co_return Error{Errc::malformed, fmt::format("TURN server {}: {}", server_.to_string(), size.error().message)};
            frame.resize(*size);
            co_await asio::async_read(stream_, asio::buffer(frame.data() + frame_header_size, *size - frame_header_size),
                                      asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return receive_error(ec, server_);
            sink(frame);
        }
    }

    void close() noexcept override {
        asio::error_code ec;
        stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        stream_.lowest_layer().close(ec);
    }

private:
    std::shared_ptr<asio::ssl::context> context_;  // TLS only; outlives stream_
    Stream stream_;
    Endpoint server_;
    WriteLock lock_;
};

using TcpTransport = StreamTransport<asio::ip::tcp::socket>;
using TlsTransport = StreamTransport<asio::ssl::stream<asio::ip::tcp::socket>>;

asio::ip::tcp::endpoint local_tcp(const Endpoint& server, const std::optional<asio::ip::address>& local_ip) {
    if (local_ip) return {*local_ip, 0};
    return {server.ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), 0};
}

asio::awaitable<void> connect_tcp(asio::ip::tcp::socket& socket, Endpoint server, std::optional<asio::ip::address> local_ip) {
    auto local = local_tcp(server, local_ip);
    socket.open(local.protocol());
    socket.bind(local);
    asio::error_code ec;
    co_await socket.async_connect({server.ip, server.port}, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::connection_refused)
        throw Exception(Errc::refused, fmt::format("TURN server {}: nothing listens on TCP", server.to_string()));
    if (ec) throw Exception(Errc::io, fmt::format("connecting to TURN server {}: {}", server.to_string(), ec.message()));
    socket.set_option(asio::ip::tcp::no_delay(true));
}

std::shared_ptr<asio::ssl::context> tls_context(const TlsOptions& tls) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (!tls.verify) return context;
    if (tls.ca_file.empty()) context->set_default_verify_paths();
    else context->load_verify_file(tls.ca_file);
    context->set_verify_mode(asio::ssl::verify_peer);
    return context;
}

asio::awaitable<std::unique_ptr<Transport>> connect_tls(asio::any_io_executor executor, Endpoint server,
                                                        std::optional<asio::ip::address> local_ip, const TlsOptions& tls) {
    std::shared_ptr<asio::ssl::context> context;
    try {
        context = tls_context(tls);
    } catch (const std::system_error& e) {
        throw Exception(Errc::config, fmt::format("TLS to TURN server {}: CA file '{}': {}", server.to_string(), tls.ca_file, e.what()));
    }
    auto transport = std::make_unique<TlsTransport>(context, server, executor, *context);
    auto& stream = transport->stream();
    co_await connect_tcp(stream.next_layer(), server, local_ip);
    auto name = tls.server_name.empty() ? server.ip.to_string() : tls.server_name;
    SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
    if (tls.verify) stream.set_verify_callback(asio::ssl::host_name_verification(name));
    asio::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
        throw Exception(ec.category() == asio::error::get_ssl_category() ? Errc::auth_failed : Errc::io,
                        fmt::format("TLS handshake with TURN server {}: {}", server.to_string(), ec.message()));
    co_return transport;
}

asio::awaitable<std::unique_ptr<Transport>> open_udp(asio::any_io_executor executor, Endpoint server, std::optional<asio::ip::address> local_ip) {
    asio::ip::udp::socket socket(executor);
    asio::ip::udp::endpoint local = local_ip ? asio::ip::udp::endpoint(*local_ip, 0)
                                             : asio::ip::udp::endpoint(server.ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), 0);
    asio::error_code ec;
    socket.open(local.protocol(), ec);
    if (!ec) socket.bind(local, ec);
    if (!ec) socket.connect({server.ip, server.port}, ec);
    if (ec) throw Exception(Errc::io, fmt::format("UDP socket for TURN server {}: {}", server.to_string(), ec.message()));
    co_return std::make_unique<UdpTransport>(std::move(socket), server);
}

asio::awaitable<std::unique_ptr<Transport>> connect_stream(asio::any_io_executor executor, ServerTransport kind, Endpoint server,
                                                           std::optional<asio::ip::address> local_ip, TlsOptions tls) {
    if (kind == ServerTransport::tls) co_return co_await connect_tls(executor, server, local_ip, tls);
    auto transport = std::make_unique<TcpTransport>(nullptr, server, executor);
    co_await connect_tcp(transport->stream(), server, local_ip);
    co_return transport;
}

}  // namespace

asio::awaitable<std::unique_ptr<Transport>> connect_transport(asio::any_io_executor executor, ServerTransport kind, Endpoint server,
                                                              std::optional<asio::ip::address> local_ip, const TlsOptions& tls,
                                                              std::chrono::milliseconds timeout) {
    if (kind == ServerTransport::udp) co_return co_await open_udp(executor, server, local_ip);
    auto what = fmt::format("connecting to TURN server {} over {}", server.to_string(), to_string(kind));
    co_return co_await net::with_timeout(connect_stream(executor, kind, server, local_ip, tls), timeout, what);
}

}  // namespace warpgate::turn
