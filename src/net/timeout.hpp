// Races an awaitable against a timer: every network wait in warpgate goes through here.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <string>
#include <warpgate/error.hpp>

namespace warpgate::net {

inline std::string describe(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// Throws Exception(Errc::timeout, "<what> timed out after N ms") when the timer wins; the
// operation is cancelled then (awaitable_operators emit a terminal cancellation).
template <class T>
asio::awaitable<T> with_timeout(asio::awaitable<T> op, std::chrono::milliseconds timeout, std::string what) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    auto result = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    if (result.index() == 1) throw Exception(Errc::timeout, what + " timed out after " + describe(timeout));
    if constexpr (!std::is_void_v<T>) co_return std::get<0>(std::move(result));
}

// True once the current coroutine has been asked to stop (a lost race, close()).
inline asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace warpgate::net
