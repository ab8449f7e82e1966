// A set of spawned coroutines that can be cancelled together and awaited until all are gone:
// how Node and auto_connect guarantee that close() leaves no task behind.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <list>
#include <memory>
#include "log.hpp"

namespace warpgate::net {

class TaskGroup {
public:
    explicit TaskGroup(asio::any_io_executor ex) : state_(std::make_shared<State>(ex)) {}
    ~TaskGroup() { cancel_all(); }
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;

    // Runs `task` until it ends or cancel_all(); an exception it throws is logged, not lost.
    void spawn(asio::awaitable<void> task, std::string name) {
        auto state = state_;
        auto it = state->tasks.emplace(state->tasks.end());
        asio::co_spawn(state->executor, std::move(task),
                       asio::bind_cancellation_slot(it->signal.slot(), [state, it, name = std::move(name)](std::exception_ptr e) {
                           if (e) {
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& ex) {
                                   log::debug("task {} ended: {}", name, ex.what());
                               }
                           }
                           state->tasks.erase(it);
                           if (state->tasks.empty()) state->idle.cancel();
                       }));
    }

    void cancel_all() {
        for (auto& t : state_->tasks) t.signal.emit(asio::cancellation_type::terminal);
    }

    std::size_t size() const { return state_->tasks.size(); }

    // Completes when every task has ended. Any number may wait: the timer never expires and
    // the last task's end cancels it, waking them all (re-arming it here would cancel the
    // other waiters' waits, and they would spin re-arming it in turn).
    asio::awaitable<void> wait() {
        auto state = state_;
        while (!state->tasks.empty()) {
            asio::error_code ec;
            co_await state->idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }

private:
    struct Task {
        asio::cancellation_signal signal;
    };
    struct State {
        explicit State(asio::any_io_executor ex) : executor(ex), idle(ex, asio::steady_timer::time_point::max()) {}
        asio::any_io_executor executor;
        std::list<Task> tasks;  // list: stable addresses for the signals
        asio::steady_timer idle;
    };
    std::shared_ptr<State> state_;
};

}  // namespace warpgate::net
