// A thread of its own for blocking calls (miniupnpc has no asynchronous API): jobs run there
// one after another, never on the io_context, and the awaiting coroutine resumes on its own
// executor with the job's result, or gives up at its deadline or when cancelled (the job
// still runs to its end, bounded by the library's own socket timeouts; its result is dropped).
// join() (or the destructor) joins the thread once it is idle. A job still running then (one
// whose caller gave up at its deadline) is not waited for on the io_context: the thread is
// detached and ends after it, holding only state it shares (jobs capture what they use).
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
    // Ends the thread: joined when idle, else detached (see above). Queued jobs not yet
    // started are dropped; later run()s fail at once.
    void join();

private:
    struct State {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::function<void()>> jobs;
        bool stopping = false;
        bool busy = false;
    };
    void submit(std::function<void()> job);
    static void loop(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::thread thread_;
};

template <class T>
asio::awaitable<Result<T>> BlockingWorker::run(std::function<Result<T>()> job, std::chrono::steady_clock::time_point deadline,
                                               std::string what) {
    // Shared with the job. The timer stays in this frame: once the wait is abandoned (deadline,
    // cancellation) the job touches neither it nor the io_context, which may be gone by then.
    struct Pending {
        std::mutex mutex;
        bool abandoned = false;
        asio::steady_timer* done = nullptr;
        std::optional<Result<T>> result;
    };
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer done(ex, deadline);
    auto pending = std::make_shared<Pending>();
    pending->done = &done;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->stopping) co_return fail(Errc::cancelled, what + ": worker stopped");
    }
    submit([pending, ex, job = std::move(job)]() mutable {
        auto result = job();
        std::lock_guard lock(pending->mutex);
        if (pending->abandoned) return;
        asio::post(ex, [pending, result = std::move(result)]() mutable {
            std::lock_guard lock(pending->mutex);
            if (pending->abandoned) return;
            pending->result = std::move(result);
            pending->done->cancel();
        });
    });
    auto [ec] = co_await done.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::lock_guard lock(pending->mutex);
    if (pending->result) co_return std::move(*pending->result);
    pending->abandoned = true;
    if (!ec) co_return fail(Errc::timeout, what + " timed out");
    co_return fail(Errc::cancelled, what + " cancelled");
}

}  // namespace warpgate::upnp
