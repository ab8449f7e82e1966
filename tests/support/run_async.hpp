#pragma once
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>

namespace warpgate::test {

// Runs a coroutine on a fresh io_context to completion and rethrows what it threw. The
// io_context keeps running until every task the coroutine left behind has ended, so a test
// also proves that nothing lingers.
template <class F>
auto run_async(F&& make_coroutine) {
    asio::io_context io;
    std::exception_ptr error;
    using T = typename decltype(make_coroutine(io))::value_type;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    asio::co_spawn(io, make_coroutine(io), [&](std::exception_ptr e, auto... value) {
        error = e;
        if constexpr (sizeof...(value) > 0) {
            if (!e) result.emplace(std::move(value)...);
        }
    });
    io.run();
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*result);
}

}  // namespace warpgate::test
