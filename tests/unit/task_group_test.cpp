// TaskGroup (net/task_group.hpp): tasks end by themselves or by cancel_all(), and any number of
// waiters wake once the last one is gone, without spinning while they wait.
#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/task_group.hpp"

using namespace warpgate::net;
using namespace std::chrono_literals;

namespace {

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);  // throws when cancelled: the group logs it
}

asio::awaitable<void> wait_and_count(TaskGroup& group, int& woken) {
    co_await group.wait();
    ++woken;
}

}  // namespace

TEST(TaskGroup, TwoWaitersWakeWhenTheLastTaskEndsAndDoNotSpinMeanwhile) {
    asio::io_context io;
    TaskGroup group(io.get_executor());
    group.spawn(sleep_for(100ms), "sleeper");
    int woken = 0;
    asio::co_spawn(io, wait_and_count(group, woken), asio::detached);
    asio::co_spawn(io, wait_and_count(group, woken), asio::detached);
    io.poll();  // both waiters start waiting
    // Waiting is idle: a waiter that re-arms the shared timer cancels the other's wait, and
    // the two would run handlers forever.
    std::size_t handlers = 0;
    for (int i = 0; i < 20; ++i) handlers += io.poll();
    EXPECT_EQ(handlers, 0u) << "the waiters are woken while the task still runs";
    EXPECT_EQ(woken, 0);
    io.run_for(1s);
    EXPECT_EQ(woken, 2);
    EXPECT_EQ(group.size(), 0u);
}

TEST(TaskGroup, CancelAllEndsTheTasksAndWakesTheWaiter) {
    asio::io_context io;
    TaskGroup group(io.get_executor());
    group.spawn(sleep_for(1h), "a");
    group.spawn(sleep_for(1h), "b");
    int woken = 0;
    asio::co_spawn(io, wait_and_count(group, woken), asio::detached);
    io.poll();
    EXPECT_EQ(group.size(), 2u);
    group.cancel_all();
    io.run_for(1s);
    EXPECT_EQ(group.size(), 0u);
    EXPECT_EQ(woken, 1);
}

TEST(TaskGroup, WaitOnAnEmptyGroupReturnsAtOnce) {
    asio::io_context io;
    TaskGroup group(io.get_executor());
    int woken = 0;
    asio::co_spawn(io, wait_and_count(group, woken), asio::detached);
    io.poll();
    EXPECT_EQ(woken, 1);
}
