#include "proto/turn_data_connection.hpp"

#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "net/timeout.hpp"

namespace warpgate::turn {

namespace {

constexpr int max_rounds = 3;  // the first try, and two fresh nonces

asio::awaitable<void> write_all(asio::ip::tcp::socket& socket, const Bytes& bytes, const std::string& server) {
    asio::error_code ec;
    co_await asio::async_write(socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw Exception(Errc::io, fmt::format("ConnectionBind to TURN server {}: {}", server, ec.message()));
}

// Exactly one STUN message: nothing after it is read, since the peer's bytes follow it.
asio::awaitable<Bytes> read_message(asio::ip::tcp::socket& socket, const std::string& server) {
    Bytes message(frame_header_size);
    asio::error_code ec;
    co_await asio::async_read(socket, asio::buffer(message), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw Exception(Errc::closed, fmt::format("TURN server {} closed the data connection: {}", server, ec.message()));
    auto size = stream_frame_size(message);
    if (!size || message[0] > 0x3F)
        throw Exception(Errc::malformed, fmt::format("TURN server {} answered ConnectionBind with something not STUN", server));
    message.resize(*size);
    co_await asio::async_read(socket, asio::buffer(message.data() + frame_header_size, *size - frame_header_size),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw Exception(Errc::closed, fmt::format("TURN server {} closed the data connection: {}", server, ec.message()));
    co_return message;
}

asio::awaitable<asio::ip::tcp::socket> connect_and_bind(asio::any_io_executor executor, ClientOptions options,
                                                        std::optional<Credentials> credentials, std::uint32_t connection_id) {
    auto server = options.server.to_string();
    asio::ip::tcp::socket socket(executor);
    asio::ip::tcp::endpoint local = options.local_ip ? asio::ip::tcp::endpoint(*options.local_ip, 0)
                                                     : asio::ip::tcp::endpoint(options.server.ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), 0);
    socket.open(local.protocol());
    socket.bind(local);
    asio::error_code ec;
    asio::ip::tcp::endpoint server_at(options.server.ip, options.server.port);  // (GCC 12: no braced temporary in a co_await)
    co_await socket.async_connect(server_at, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::connection_refused) throw Exception(Errc::refused, fmt::format("TURN server {}: nothing listens on TCP", server));
    if (ec) throw Exception(Errc::io, fmt::format("data connection to TURN server {}: {}", server, ec.message()));
    socket.set_option(asio::ip::tcp::no_delay(true));
    ConnectionBindRequest request;
    request.connection_id = connection_id;
    for (int round = 0; round < max_rounds; ++round) {
        auto id = stun::random_transaction_id();
        const Credentials* signing = credentials ? &*credentials : nullptr;
        auto bytes = encode(id, request, signing);
        co_await write_all(socket, bytes, server);
        auto answer = co_await read_message(socket, server);
        auto m = stun::decode(answer);
        if (!m) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server, m.error().message));
        if (m->transaction_id != id || m->method != method::connection_bind)
            throw Exception(Errc::malformed, fmt::format("TURN server {} answered another transaction on the data connection", server));
        if (m->cls == stun::MessageClass::success) {
            if (signing) {
                auto verified = verify_integrity(answer, *m, signing->key);
                if (!verified)
                    throw Exception(Errc::auth_failed, fmt::format("TURN server {}: the ConnectionBind response does not verify: {}", server,
                                                                   verified.error().message));
            }
            auto ok = read_empty_success(*m, method::connection_bind);
            if (!ok) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server, ok.error().message));
            co_return socket;
        }
        auto e = read_error_response(*m);
        if (!e) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server, e.error().message));
        bool fresh_nonce = (e->code == unauthenticated || e->code == stale_nonce) && credentials && e->nonce &&
                           (!e->realm || *e->realm == credentials->realm);
        if (fresh_nonce && round + 1 < max_rounds) {
            credentials->nonce = *e->nonce;
            continue;
        }
        throw Exception(Errc::refused, fmt::format("TURN server {} refused ConnectionBind: {} {}", server, e->code, e->reason));
    }
    throw Exception(Errc::refused, fmt::format("TURN server {} keeps challenging ConnectionBind", server));
}

}  // namespace

asio::awaitable<asio::ip::tcp::socket> bind_data_connection(const Client& allocation, std::uint32_t connection_id) {
    const auto& options = allocation.options();
    if (options.transport != ServerTransport::tcp)
        throw Exception(Errc::unsupported, fmt::format("TURN server {}: data connections over {} are not supported (TCP only)",
                                                       options.server.to_string(), to_string(options.transport)));
    auto what = fmt::format("ConnectionBind {} on TURN server {}", connection_id, options.server.to_string());
    co_return co_await net::with_timeout(connect_and_bind(allocation.executor(), options, allocation.credentials(), connection_id),
                                         options.connect_timeout, what);
}

}  // namespace warpgate::turn
