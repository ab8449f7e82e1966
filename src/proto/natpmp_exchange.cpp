#include "proto/natpmp_exchange.hpp"

#include <algorithm>
#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "proto/natpmp.hpp"

namespace warpgate::natpmp {
namespace {

using namespace asio::experimental::awaitable_operators;
using Steady = std::chrono::steady_clock;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

Error io_error(const asio::error_code& ec, std::string_view what) {
    if (ec == asio::error::operation_aborted) return {Errc::cancelled, fmt::format("{}: cancelled", what)};
    if (ec == asio::error::connection_refused) return {Errc::refused, fmt::format("{}: nothing listens there (port unreachable)", what)};
    return {Errc::io, fmt::format("{}: {}", what, ec.message())};
}

}  // namespace

Result<asio::ip::udp::socket> open_gateway_socket(const asio::any_io_executor& executor, const asio::ip::address& gateway) {
    asio::ip::udp::socket socket(executor);
    asio::error_code ec;
    socket.open(gateway.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) socket.connect({gateway, server_port}, ec);
    if (ec) return tl::unexpected(io_error(ec, "socket to gateway " + gateway.to_string()));
    return socket;
}

asio::ip::address local_address(const asio::ip::udp::socket& socket) {
    asio::error_code ec;
    auto local = socket.local_endpoint(ec);
    return ec ? asio::ip::address() : local.address();
}

asio::awaitable<Result<Bytes>> exchange(asio::ip::udp::socket& socket, ByteView request, Retransmission schedule,
                                        Steady::time_point deadline, std::function<bool(ByteView)> matches, std::string what) {
    std::array<std::uint8_t, 1100> buffer{};  // PCP's largest message (RFC 6887 §7)
    auto interval = schedule.initial;
    asio::steady_timer timer(socket.get_executor());
    int sent = 0;
    while (Steady::now() < deadline) {
        auto [send_ec, n] = co_await socket.async_send(asio::buffer(request.data(), request.size()), as_tuple_awaitable);
        if (send_ec) co_return tl::unexpected(io_error(send_ec, what));
        ++sent;
        auto next_send = std::min(Steady::now() + interval, deadline);
        interval = std::min(interval * 2, schedule.max);
        while (Steady::now() < next_send) {
            timer.expires_at(next_send);
            auto first = co_await (socket.async_receive(asio::buffer(buffer), as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
            if (first.index() == 1) {
                auto [ec] = std::get<1>(first);
                if (ec) co_return tl::unexpected(io_error(ec, what));
                break;
            }
            auto [ec, size] = std::get<0>(first);
            if (ec) co_return tl::unexpected(io_error(ec, what));
            ByteView reply(buffer.data(), size);
            if (matches(reply)) co_return Bytes(reply.begin(), reply.end());
        }
    }
    co_return fail(Errc::timeout, fmt::format("{}: no answer to {} requests", what, sent));
}

}  // namespace warpgate::natpmp
