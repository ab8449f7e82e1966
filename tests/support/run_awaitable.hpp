// Runs a coroutine to completion on a test's io_context and hands back its value.
#pragma once
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>

namespace warpgate::test {

template <class T>
T run_awaitable(asio::io_context& io, asio::awaitable<T> task) {
    std::optional<T> value;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) value.emplace(std::move(v));
    });
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
    return std::move(*value);
}

}  // namespace warpgate::test
