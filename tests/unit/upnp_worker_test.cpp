// BlockingWorker (proto/upnp_worker.hpp) with real threads: results come back on the io
// thread, the io_context never blocks on a job, a deadline or a cancellation ends the wait,
// and join() neither hangs on a job past its deadline nor runs queued jobs afterwards.
#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>
#include <asio/detached.hpp>

#include "proto/upnp_worker.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {
std::function<Result<int>()> sleep_then(std::chrono::milliseconds d, int value, std::thread::id* ran_on = nullptr) {
    return [=]() -> Result<int> {
        std::this_thread::sleep_for(d);
        if (ran_on) *ran_on = std::this_thread::get_id();
        return value;
    };
}
}  // namespace

TEST(BlockingWorker, RunsJobsOffTheIoThreadAndResumesOnIt) {
    upnp::BlockingWorker worker;
    std::thread::id job_thread;
    auto [result, resumed_on] = test::run_async([&](asio::io_context&) -> asio::awaitable<std::pair<Result<int>, std::thread::id>> {
        auto job = sleep_then(10ms, 42, &job_thread);
        auto r = co_await worker.run<int>(std::move(job), Steady::now() + 2s, "job");
        co_return std::pair{r, std::this_thread::get_id()};
    });
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(*result, 42);
    EXPECT_NE(job_thread, std::this_thread::get_id());
    EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(BlockingWorker, TheDeadlineEndsTheWaitAndTheLoopKeepsTurning) {
    upnp::BlockingWorker worker;
    int ticks = 0;
    auto began = Steady::now();
    auto result = test::run_async([&](asio::io_context& io) -> asio::awaitable<Result<int>> {
        // A timer on the io thread keeps firing while the job sleeps: nothing blocks the loop.
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            asio::steady_timer t(io);
            for (int i = 0; i < 10; ++i) {
                t.expires_after(10ms);
                co_await t.async_wait(asio::use_awaitable);
                ++ticks;
            }
        }, asio::detached);
        auto job = sleep_then(300ms, 1);
        auto r = co_await worker.run<int>(std::move(job), Steady::now() + 100ms, "slow job");
        co_return r;
    });
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::timeout);
    EXPECT_LT(Steady::now() - began, 290ms);
    EXPECT_EQ(ticks, 10);
    auto joined = Steady::now();
    worker.join();  // the slow job may still run: join() does not wait for it
    EXPECT_LT(Steady::now() - joined, 100ms);
}

TEST(BlockingWorker, CancellationEndsTheWait) {
    upnp::BlockingWorker worker;
    auto result = test::run_async([&](asio::io_context& io) -> asio::awaitable<Result<int>> {
        asio::cancellation_signal cancel;
        asio::steady_timer t(io, 50ms);
        t.async_wait([&](asio::error_code) { cancel.emit(asio::cancellation_type::terminal); });
        auto job = sleep_then(200ms, 1);
        auto op = worker.run<int>(std::move(job), Steady::now() + 5s, "job");
        auto r = co_await asio::co_spawn(io, std::move(op), asio::bind_cancellation_slot(cancel.slot(), asio::use_awaitable));
        co_return r;
    });
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::cancelled);
}

TEST(BlockingWorker, NothingRunsAfterJoin) {
    upnp::BlockingWorker worker;
    worker.join();
    auto result = test::run_async([&](asio::io_context&) -> asio::awaitable<Result<int>> {
        auto job = sleep_then(0ms, 1);
        auto r = co_await worker.run<int>(std::move(job), Steady::now() + 1s, "job");
        co_return r;
    });
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::cancelled);
}
