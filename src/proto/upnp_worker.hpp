// A thread of its own for blocking calls (miniupnpc has no asynchronous API): jobs run there
// one after another, never on the io_context, and the awaiting coroutine resumes on its own
// executor with the job's result, or gives up at its deadline or when cancelled (the job
// still runs to its end, bounded by the library's own socket timeouts; its result is dropped).
// The thread is joined by join() or the destructor, after the queued jobs.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <warpgate/error.hpp>

namespace warpgate::upnp {

class BlockingWorker {
public:
    BlockingWorker();
    ~BlockingWorker();
    BlockingWorker(const BlockingWorker&) = delete;
    BlockingWorker& operator=(const BlockingWorker&) = delete;

    // Errc::timeout at the deadline, Errc::cancelled when the caller is cancelled or the
    // worker was joined; otherwise what the job returned.
    template <class T>
    asio::awaitable<Result<T>> run(std::function<Result<T>()> job, std::chrono::steady_clock::time_point deadline,
                                   std::string what);
    // Lets the queued jobs finish, then ends the thread. Later run()s fail at once.
    void join();

private:
    void submit(std::function<void()> job);
    void loop();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

template <class T>
asio::awaitable<Result<T>> BlockingWorker::run(std::function<Result<T>()> job, std::chrono::steady_clock::time_point deadline,
                                               std::string what) {
    struct Pending {
        asio::steady_timer done;
        std::optional<Result<T>> result;
    };
    auto ex = co_await asio::this_coro::executor;
    auto pending = std::make_shared<Pending>(Pending{asio::steady_timer(ex, deadline), std::nullopt});
    {
        std::lock_guard lock(mutex_);
        if (stopping_) co_return fail(Errc::cancelled, what + ": worker stopped");
    }
    submit([pending, ex, job = std::move(job)]() mutable {
        auto result = job();
        // The io thread alone touches `pending` (the timer) from here on.
        asio::post(ex, [pending = std::move(pending), result = std::move(result)]() mutable {
            pending->result = std::move(result);
            pending->done.cancel();
        });
    });
    auto [ec] = co_await pending->done.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (pending->result) co_return std::move(*pending->result);
    if (!ec) co_return fail(Errc::timeout, what + " timed out");
    co_return fail(Errc::cancelled, what + " cancelled");
}

}  // namespace warpgate::upnp
