// Races an awaitable against a timer: every network wait in warpgate goes through here.
#pragma once
#include <asio/awaitable.hpp>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <warpgate/error.hpp>

namespace warpgate::net {

inline std::string describe(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

namespace detail {
template <class T>
asio::awaitable<std::optional<T>> wrap_optional(asio::awaitable<T> op) {
    auto value = co_await std::move(op);
    co_return std::optional<T>(std::move(value));
}
}  // namespace detail

// Throws Exception(Errc::timeout, "<what> timed out after N ms") when the timer wins; the
// operation is cancelled then. An operation that fails first ends the wait at once with its
// own exception (awaitable_operators' `||` would wait for the timer instead and then report
// a timeout, or wrap both failures as "multiple exceptions"). Cancelled from outside, it
// throws what the cancelled operation threw, else Exception(Errc::cancelled).
template <class T>
asio::awaitable<T> with_timeout(asio::awaitable<T> op, std::chrono::milliseconds timeout, std::string what) {
    using namespace asio::experimental;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, timeout);
    auto timed_out = [&](const std::array<std::size_t, 2>& order, const asio::error_code& timer_ec) {
        if (order[0] != 1) return false;
        if (timer_ec) throw Exception(Errc::cancelled, what + " cancelled");
        return true;
    };
    if constexpr (std::is_void_v<T>) {
        auto group = make_parallel_group(asio::co_spawn(ex, std::move(op), deferred), timer.async_wait(deferred));
        auto [order, error, timer_ec] = co_await group.async_wait(wait_for_one(), asio::use_awaitable);
        if (timed_out(order, timer_ec)) throw Exception(Errc::timeout, what + " timed out after " + describe(timeout));
        if (error) std::rethrow_exception(error);
    } else {
        auto group = make_parallel_group(asio::co_spawn(ex, detail::wrap_optional(std::move(op)), deferred), timer.async_wait(deferred));
        auto [order, error, value, timer_ec] = co_await group.async_wait(wait_for_one(), asio::use_awaitable);
        if (timed_out(order, timer_ec)) throw Exception(Errc::timeout, what + " timed out after " + describe(timeout));
        if (error) std::rethrow_exception(error);
        co_return std::move(*value);
    }
}

// True once the current coroutine has been asked to stop (a lost race, close()).
inline asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace warpgate::net
