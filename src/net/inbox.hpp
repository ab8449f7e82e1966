// A bounded queue between a pipe's reader and whoever consumes its messages.
// Policy (documented in docs/pipes.md): TCP readers wait while it is full, so a slow consumer
// pushes back on the sender through TCP flow control; UDP readers drop the newest datagram
// and count it, as a router would. Single-executor use only, like the rest of a Node.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <list>
#include <optional>
#include <warpgate/error.hpp>

#include "net/timeout.hpp"

namespace warpgate::net {

template <class T>
class Inbox {
public:
    Inbox(asio::any_io_executor ex, std::size_t capacity) : executor_(ex), capacity_(capacity) {}

    bool full() const { return items_.size() >= capacity_; }
    bool closed() const { return closed_.has_value(); }
    std::size_t size() const { return items_.size(); }
    std::size_t dropped() const { return dropped_; }

    // UDP policy: never waits; false (and counted) when full or closed.
    bool try_push(T item) {
        if (closed_ || full()) {
            ++dropped_;
            return false;
        }
        items_.push_back(std::move(item));
        wake(readers_);
        return true;
    }

    // TCP policy: waits for room. Returns false when the inbox was closed meanwhile.
    asio::awaitable<bool> push(T item) {
        while (!closed_ && full()) {
            bool woken = co_await wait_on(writers_, std::chrono::steady_clock::time_point::max());
            if (!woken) co_return false;
        }
        if (closed_) co_return false;
        items_.push_back(std::move(item));
        wake(readers_);
        co_return true;
    }

    // Throws Errc::timeout, Errc::cancelled, or the close reason once drained and closed.
    asio::awaitable<T> pop(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (items_.empty()) {
            if (closed_) throw Exception(*closed_);
            bool woken = co_await wait_on(readers_, deadline);
            if (!woken) {
                bool stop = co_await cancelled();
                if (stop) throw Exception(Errc::cancelled, "receive cancelled");
                if (!items_.empty() || closed_) continue;
                throw Exception(Errc::timeout, "no message within " + describe(timeout));
            }
        }
        T item = std::move(items_.front());
        items_.pop_front();
        wake(writers_);
        co_return item;
    }

    std::optional<T> try_pop() {
        if (items_.empty()) return std::nullopt;
        T item = std::move(items_.front());
        items_.pop_front();
        wake(writers_);
        return item;
    }

    // Queued items stay readable; afterwards pop() throws `reason`.
    void close(Error reason) {
        if (closed_) return;
        closed_ = std::move(reason);
        wake_all(readers_);
        wake_all(writers_);
    }

private:
    using Waiters = std::list<asio::steady_timer*>;

    // Sleeps until woken (true) or until the deadline / a cancellation (false).
    asio::awaitable<bool> wait_on(Waiters& waiters, std::chrono::steady_clock::time_point deadline) {
        asio::steady_timer timer(executor_, deadline);
        auto it = waiters.insert(waiters.end(), &timer);
        bool woken = false;
        asio::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (*it == nullptr) woken = true;  // wake() marks the entry before cancelling the timer
        waiters.erase(it);
        bool stop = co_await cancelled();
        co_return woken && !stop;
    }

    static void wake(Waiters& waiters) {
        for (auto& w : waiters) {
            if (w) {
                auto* timer = w;
                w = nullptr;
                timer->cancel();
                return;
            }
        }
    }
    static void wake_all(Waiters& waiters) {
        for (auto& w : waiters) {
            if (w) {
                auto* timer = w;
                w = nullptr;
                timer->cancel();
            }
        }
    }

    asio::any_io_executor executor_;
    std::size_t capacity_;
    std::deque<T> items_;
    std::optional<Error> closed_;
    std::size_t dropped_ = 0;
    Waiters readers_;
    Waiters writers_;
};

}  // namespace warpgate::net
