// Small coroutine helpers for tests that run gates: an echoing callee, and waiting for a
// condition that other tasks make true.
#pragma once
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <warpgate/gate.hpp>

namespace warpgate::test {

// Every link `gate` accepts echoes each message back until it stays silent for 10 s or ends.
inline asio::awaitable<void> echo_links(Gate& gate) {
    gate.on_link([ex = gate.node().get_executor()](Link incoming) {
        asio::co_spawn(ex, [link = std::make_shared<Link>(std::move(incoming))]() -> asio::awaitable<void> {
            try {
                for (;;) {
                    auto m = co_await link->recv(std::chrono::seconds(10));
                    co_await link->send(m);
                }
            } catch (const Exception&) {
            }
        }, asio::detached);
    });
    co_return;
}

// True once `condition` holds (checked every 20 ms), false when `within` passed first.
inline asio::awaitable<bool> eventually(std::function<bool()> condition, std::chrono::milliseconds within) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto deadline = std::chrono::steady_clock::now() + within;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return true;
}

}  // namespace warpgate::test
