#pragma once
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace warpgate::test {

// How long the tasks a test's coroutine left behind may run on after it ended.
inline constexpr std::chrono::seconds linger_budget{20};

// Runs a coroutine on a fresh io_context to completion and rethrows what it threw. The
// io_context keeps running until every task the coroutine left behind has ended, so a test
// also proves that nothing lingers; tasks still running linger_budget after the coroutine
// ended (something was never closed, often because the test threw half way) fail the test
// instead of hanging it.
template <class F>
auto run_async(F&& make_coroutine) {
    asio::io_context io;
    std::exception_ptr error;
    bool ended = false;
    using T = typename decltype(make_coroutine(io))::value_type;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    asio::co_spawn(io, make_coroutine(io), [&](std::exception_ptr e, auto... value) {
        error = e;
        ended = true;
        if constexpr (sizeof...(value) > 0) {
            if (!e) result.emplace(std::move(value)...);
        }
    });
    while (!ended && io.run_one() > 0) {
    }
    auto deadline = std::chrono::steady_clock::now() + linger_budget;
    while (!io.stopped() && io.run_one_until(deadline) > 0) {
    }
    if (error) std::rethrow_exception(error);
    if (!io.stopped())
        throw std::runtime_error("tasks were still running " + std::to_string(linger_budget.count()) +
                                 " s after the test's coroutine ended: something it opened was never closed");
    if constexpr (!std::is_void_v<T>) return std::move(*result);
}

}  // namespace warpgate::test
