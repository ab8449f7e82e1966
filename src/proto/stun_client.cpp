#include "proto/stun_client.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "crypto/random.hpp"
#include "net/resolve.hpp"

namespace warpgate::stun {

namespace {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

Endpoint to_endpoint(const asio::ip::udp::endpoint& e) { return {e.address(), e.port()}; }
Endpoint to_endpoint(const asio::ip::tcp::endpoint& e) { return {e.address(), e.port()}; }

Error io_error(const asio::error_code& ec, std::string_view what) {
    if (ec == asio::error::operation_aborted) return {Errc::cancelled, fmt::format("{}: cancelled", what)};
    return {Errc::io, fmt::format("{}: {}", what, ec.message())};
}

// What the client threw away while waiting, so a timeout can say why nothing was accepted.
struct Ignored {
    int malformed = 0;
    int foreign = 0;  // another transaction id
    std::string last_reason;

    std::string describe() const {
        if (malformed == 0 && foreign == 0) return "";
        return fmt::format(" (ignored {} malformed datagrams{}, {} with another transaction id)", malformed,
                           last_reason.empty() ? "" : ", last: " + last_reason, foreign);
    }
};

// Decides what one received message means for the transaction: a result, an error response
// that ends it, or nullopt when it is to be ignored.
std::optional<Result<BindingResponse>> judge(ByteView bytes, const TransactionId& id, const Endpoint& from, Ignored& ignored) {
    auto m = decode(bytes);
    if (!m) {
        ++ignored.malformed;
        ignored.last_reason = m.error().message;
        spdlog::debug("stun: ignoring datagram from {}: {}", from.to_string(), m.error().message);
        return std::nullopt;
    }
    if (m->transaction_id != id) {
        ++ignored.foreign;
        spdlog::debug("stun: ignoring response from {} with another transaction id", from.to_string());
        return std::nullopt;
    }
    auto r = read_binding_response(*m);
    if (!r && r.error().code == Errc::malformed) {
        ++ignored.malformed;
        ignored.last_reason = r.error().message;
        spdlog::debug("stun: ignoring response from {}: {}", from.to_string(), r.error().message);
        return std::nullopt;
    }
    return r;
}

// Receives one datagram, or nullopt when the deadline passes first.
asio::awaitable<Result<std::optional<std::size_t>>> receive_until(asio::ip::udp::socket& socket, asio::mutable_buffer buffer,
                                                                  asio::ip::udp::endpoint& from, Clock::time_point deadline) {
    asio::steady_timer timer(socket.get_executor(), deadline);
    auto first = co_await (socket.async_receive_from(buffer, from, as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
    if (first.index() == 1) {
        auto [ec] = std::get<1>(first);
        if (ec) co_return tl::unexpected(io_error(ec, "STUN receive"));
        co_return std::optional<std::size_t>{};
    }
    auto [ec, size] = std::get<0>(first);
    if (ec) co_return tl::unexpected(io_error(ec, "STUN receive"));
    co_return std::optional<std::size_t>{size};
}

asio::awaitable<Result<BindingResult>> tcp_transaction(asio::ip::tcp::socket& socket, Endpoint server, ClientOptions options) {
    auto what = fmt::format("STUN over TCP to {}", server.to_string());
    auto [connect_ec] = co_await socket.async_connect({server.ip, server.port}, as_tuple_awaitable);
    if (connect_ec) co_return tl::unexpected(io_error(connect_ec, what));
    BindingRequest request{random_transaction_id(), std::nullopt, options.fingerprint};
    auto bytes = encode(request);
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(bytes), as_tuple_awaitable);
    if (write_ec) co_return tl::unexpected(io_error(write_ec, what));

    Bytes message(header_size);
    auto [header_ec, header_read] = co_await asio::async_read(socket, asio::buffer(message), as_tuple_awaitable);
    if (header_ec) co_return tl::unexpected(io_error(header_ec, what));
    auto size = message_size(message);
    if (!size) co_return fail(Errc::malformed, fmt::format("{}: {}", what, size.error().message));
    message.resize(*size);
    auto [body_ec, body_read] = co_await asio::async_read(socket, asio::buffer(message.data() + header_size, *size - header_size), as_tuple_awaitable);
    if (body_ec) co_return tl::unexpected(io_error(body_ec, what));

    // On a stream there is nothing to skip to: anything but our answer is a failure.
    Ignored ignored;
    auto from = to_endpoint(socket.remote_endpoint());
    auto verdict = judge(message, request.transaction_id, from, ignored);
    if (!verdict) co_return fail(Errc::malformed, fmt::format("{}: invalid response{}", what, ignored.describe()));
    if (!*verdict) co_return tl::unexpected(Error{verdict->error().code, fmt::format("{}: {}", what, verdict->error().message)});
    co_return BindingResult{**verdict, server, from, to_endpoint(socket.local_endpoint()), 1};
}

}  // namespace

std::chrono::milliseconds RetransmitPolicy::budget() const {
    std::chrono::milliseconds total{0};
    for (int n = 1; n < max_requests; ++n) total += rto * (1 << (n - 1));
    return total + rto * last_wait_rtos;
}

TransactionId random_transaction_id() {
    TransactionId id{};
    crypto::random_bytes(id);
    return id;
}

asio::awaitable<Result<BindingResult>> udp_binding(asio::ip::udp::socket& socket, Endpoint server,
                                                   std::optional<ChangeRequest> change, ClientOptions options) {
    auto what = fmt::format("STUN to {}", server.to_string());
    asio::error_code ec;
    auto local = socket.local_endpoint(ec);
    if (ec) co_return tl::unexpected(io_error(ec, what));
    if (family_of(local.address()) != server.family())
        co_return fail(Errc::unsupported, fmt::format("{}: the socket is {}", what, to_string(family_of(local.address()))));

    BindingRequest request{random_transaction_id(), change, options.fingerprint};
    auto bytes = encode(request);
    const asio::ip::udp::endpoint to(server.ip, server.port);
    // Large enough for any response a Binding request can draw; a longer datagram is cut,
    // fails to decode and is ignored.
    std::array<std::uint8_t, 2048> buffer;
    Ignored ignored;
    auto interval = options.udp.rto;
    for (int n = 1; n <= options.udp.max_requests; ++n) {
        auto [send_ec, sent] = co_await socket.async_send_to(asio::buffer(bytes), to, as_tuple_awaitable);
        if (send_ec) co_return tl::unexpected(io_error(send_ec, what));
        auto wait = n == options.udp.max_requests ? options.udp.rto * options.udp.last_wait_rtos : interval;
        auto deadline = Clock::now() + wait;
        interval *= 2;
        for (;;) {
            asio::ip::udp::endpoint from;
            auto received = co_await receive_until(socket, asio::buffer(buffer), from, deadline);
            if (!received) co_return tl::unexpected(received.error());
            if (!*received) break;
            auto verdict = judge(ByteView(buffer.data(), **received), request.transaction_id, to_endpoint(from), ignored);
            if (!verdict) continue;
            if (!*verdict) co_return tl::unexpected(Error{verdict->error().code, fmt::format("{}: {}", what, verdict->error().message)});
            co_return BindingResult{**verdict, server, to_endpoint(from), to_endpoint(local), n};
        }
    }
    co_return fail(Errc::timeout, fmt::format("no valid response from {} after {} requests over {} ms{}", server.to_string(),
                                              options.udp.max_requests, options.udp.budget().count(), ignored.describe()));
}

asio::awaitable<Result<BindingResult>> tcp_binding(asio::any_io_executor executor, Endpoint local, Endpoint server,
                                                   ClientOptions options) {
    if (local.family() != server.family())
        co_return fail(Errc::unsupported, fmt::format("STUN over TCP to {} from {}: families differ", server.to_string(), local.to_string()));
    asio::ip::tcp::socket socket(executor);
    asio::error_code ec;
    socket.open(local.ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), ec);
    if (!ec) socket.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) socket.bind({local.ip, local.port}, ec);
    if (ec) co_return tl::unexpected(io_error(ec, fmt::format("STUN over TCP: binding {}", local.to_string())));

    asio::steady_timer timer(executor, options.tcp_timeout);
    auto first = co_await (tcp_transaction(socket, server, options) || timer.async_wait(as_tuple_awaitable));
    if (first.index() == 0) co_return std::get<0>(std::move(first));
    auto [timer_ec] = std::get<1>(first);
    if (timer_ec) co_return tl::unexpected(io_error(timer_ec, "STUN over TCP"));
    co_return fail(Errc::timeout, fmt::format("no valid response from {} over TCP within {} ms", server.to_string(),
                                              options.tcp_timeout.count()));
}

asio::awaitable<Result<BindingResult>> binding(asio::any_io_executor executor, Transport transport, Endpoint local,
                                               Endpoint server, ClientOptions options) {
    if (transport == TCP) co_return co_await tcp_binding(executor, local, server, options);
    asio::ip::udp::socket socket(executor);
    asio::error_code ec;
    socket.open(local.ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) socket.bind({local.ip, local.port}, ec);
    if (ec) co_return tl::unexpected(io_error(ec, fmt::format("STUN over UDP: binding {}", local.to_string())));
    co_return co_await udp_binding(socket, server, std::nullopt, options);
}

asio::awaitable<Result<Endpoint>> resolve_server(asio::any_io_executor executor, HostPort server, Family family,
                                                 std::chrono::milliseconds timeout) {
    auto found = co_await net::resolve(executor, server, family, timeout);
    if (!found)
        co_return fail(found.error().code, fmt::format("STUN server {}: {}", server.to_string(), found.error().message));
    co_return found->front();
}

}  // namespace warpgate::stun
