#include "traversal/turn_common.hpp"

#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "net/timeout.hpp"

namespace warpgate::traversal {

using SteadyClock = std::chrono::steady_clock;

asio::awaitable<TurnMessage> receive_answer(TurnTable::Mailbox& box, std::chrono::milliseconds timeout) {
    auto deadline = SteadyClock::now() + timeout;
    while (!box.message) {
        if (SteadyClock::now() >= deadline) throw Exception(Errc::timeout, "no answer from the peer within " + net::describe(timeout));
        box.arrived.expires_at(deadline);
        asio::error_code ec;
        co_await box.arrived.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto stop = co_await net::cancelled();
        if (stop) throw Exception(Errc::cancelled, "waiting for the peer's relayed address cancelled");
    }
    co_return *box.message;
}

Bytes decline(const ConnectionId& con_id, std::string reason) {
    TurnMessage m;
    m.kind = TurnKind::decline;
    m.con_id = con_id;
    m.reason = std::move(reason);
    return encode_turn(m);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace warpgate::traversal
