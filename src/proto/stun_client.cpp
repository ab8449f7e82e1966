#include "proto/stun_client.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel_error.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include "log.hpp"

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
    if (ec == asio::error::operation_aborted || ec == asio::experimental::error::channel_cancelled)
        return {Errc::cancelled, fmt::format("{}: cancelled", what)};
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
        log::debug("stun: ignoring datagram from {}: {}", from.to_string(), m.error().message);
        return std::nullopt;
    }
    if (m->transaction_id != id) {
        ++ignored.foreign;
        log::debug("stun: ignoring response from {} with another transaction id", from.to_string());
        return std::nullopt;
    }
    auto r = read_binding_response(*m);
    if (!r && r.error().code == Errc::malformed) {
        ++ignored.malformed;
        ignored.last_reason = r.error().message;
        log::debug("stun: ignoring response from {}: {}", from.to_string(), r.error().message);
        return std::nullopt;
    }
    return r;
}

// The next datagram for the transaction, or nullopt when the deadline passes first.
asio::awaitable<Result<std::optional<Datagram>>> receive_until(StunTransactions::Queue& queue, Clock::time_point deadline) {
    asio::steady_timer timer(queue.get_executor(), deadline);
    auto first = co_await (queue.async_receive(as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
    if (first.index() == 1) {
        auto [ec] = std::get<1>(first);
        if (ec) co_return tl::unexpected(io_error(ec, "STUN receive"));
        co_return std::optional<Datagram>{};
    }
    auto [ec, datagram] = std::get<0>(std::move(first));
    if (ec) co_return tl::unexpected(io_error(ec, "STUN receive"));
    co_return std::optional<Datagram>{std::move(datagram)};
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

asio::awaitable<Result<BindingResult>> udp_binding(StunPort& port, Endpoint server, std::optional<ChangeRequest> change,
                                                   ClientOptions options) {
    auto what = fmt::format("STUN to {}", server.to_string());
    const auto local = port.local_endpoint();
    if (local.family() != server.family())
        co_return fail(Errc::unsupported, fmt::format("{}: the socket is {}", what, to_string(local.family())));

    BindingRequest request{random_transaction_id(), change, options.fingerprint};
    auto bytes = encode(request);
    StunTransactions::Registration registration(port.transactions(), request.transaction_id, port.executor());
    const auto dropped_before = port.transactions().dropped();
    Ignored ignored;
    auto interval = options.udp.rto;
    for (int n = 1; n <= options.udp.max_requests; ++n) {
        auto sent = co_await port.send_to(bytes, server);
        if (!sent) co_return tl::unexpected(Error{sent.error().code, fmt::format("{}: {}", what, sent.error().message)});
        const auto sent_at = Clock::now();
        auto wait = n == options.udp.max_requests ? options.udp.rto * options.udp.last_wait_rtos : interval;
        auto deadline = sent_at + wait;
        interval *= 2;
        for (;;) {
            auto received = co_await receive_until(registration.queue(), deadline);
            if (!received) co_return tl::unexpected(received.error());
            if (!*received) break;
            auto verdict = judge((*received)->bytes, request.transaction_id, (*received)->from, ignored);
            if (!verdict) continue;
            if (!*verdict) co_return tl::unexpected(Error{verdict->error().code, fmt::format("{}: {}", what, verdict->error().message)});
            auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at);
            co_return BindingResult{**verdict, server, (*received)->from, local, n, rtt};
        }
    }
    // What the port dropped meanwhile (not STUN, or for no pending transaction) may have been
    // meant as this transaction's answer.
    const auto dropped = port.transactions().dropped();
    ignored.malformed += static_cast<int>(dropped.not_stun - dropped_before.not_stun);
    ignored.foreign += static_cast<int>(dropped.unmatched - dropped_before.unmatched);
    if (dropped.not_stun != dropped_before.not_stun && ignored.last_reason.empty()) ignored.last_reason = "not a STUN message";
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
    // Linux lets a second socket bind a port a listening socket holds only when both set
    // SO_REUSEPORT (and belong to the same user).
    if (!ec) socket.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
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
    auto port = OwnedUdpStunPort::open(executor, local);
    if (!port) co_return tl::unexpected(Error{port.error().code, "STUN over UDP: " + port.error().message});
    co_return co_await udp_binding(**port, server, std::nullopt, options);
}

asio::awaitable<Result<Endpoint>> resolve_server(asio::any_io_executor executor, HostPort server, Family family,
                                                 std::chrono::milliseconds timeout) {
    auto found = co_await net::resolve(executor, server, family, timeout);
    if (!found)
        co_return fail(found.error().code, fmt::format("STUN server {}: {}", server.to_string(), found.error().message));
    co_return found->front();
}

}  // namespace warpgate::stun
