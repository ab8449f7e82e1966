#include "runtime.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <warpgate/error.hpp>

namespace warpgate::python {
namespace {

using namespace std::chrono_literals;

// What shutdown() waits for before it stops the loop regardless: closing every node (each
// close has its own bounded waits), then the loop running out of work.
constexpr auto close_budget = 5s;
constexpr auto drain_budget = 2s;

const char* errc_name(Errc code) {
    // The names errors.py maps to exception classes; Errc's own order, one word each.
    static constexpr const char* names[] = {"ok",          "malformed", "unsupported", "timeout", "cancelled",
                                            "closed",      "unreachable", "refused",   "auth_failed", "replayed",
                                            "config",      "io",        "address_in_use"};
    static_assert(std::size(names) == static_cast<std::size_t>(Errc::address_in_use) + 1, "a new Errc needs its name");
    auto index = static_cast<std::size_t>(code);
    return index < std::size(names) ? names[index] : "io";
}

// One C++ operation an asyncio future waits for.
struct Pending {
    Pending(py::object l, py::object f) : loop(std::move(l)), future(std::move(f)) {}
    asio::cancellation_signal signal;
    PyRef loop;
    PyRef future;
};

// Future completion, run on the loop's thread: a future cancelled meanwhile stays cancelled.
void settle(py::object future, bool ok, py::object value) {
    if (future.attr("done")().cast<bool>()) return;
    future.attr(ok ? "set_result" : "set_exception")(value);
}

}  // namespace

PyRef::PyRef(const PyRef& other) {
    py::gil_scoped_acquire locked;
    object_ = other.object_;
}

PyRef::~PyRef() {
    if (!object_) return;
    py::gil_scoped_acquire locked;
    object_ = py::object();
}

struct Runtime::State {
    enum class Phase { running, stopping, stopped };

    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread;
    std::promise<void> ran_out;  // set when io.run() returns

    std::mutex mutex;  // guards phase
    Phase phase = Phase::running;

    // Only on the io thread:
    std::uint64_t next_id = 0;
    std::map<std::uint64_t, std::weak_ptr<Pending>> pending;
    struct Tracked {
        std::weak_ptr<void> owner;
        std::function<asio::awaitable<void>()> close;
    };
    std::list<Tracked> tracked;
};

Runtime::Runtime() : state_(std::make_shared<State>()) {
    state_->thread = std::thread([state = state_] {
        state->io.run();
        state->ran_out.set_value();
    });
}

Runtime& Runtime::get() {
    // Never destroyed: objects Python still holds at interpreter exit may reach it after
    // shutdown(), and its queue may hold coroutine frames that shutdown() abandoned.
    static auto* runtime = new Runtime();
    return *runtime;
}

asio::any_io_executor Runtime::executor() { return state_->io.get_executor(); }

bool Runtime::on_io_thread() const { return state_->io.get_executor().running_in_this_thread(); }

bool Runtime::ended() const {
    std::lock_guard lock(state_->mutex);
    return state_->phase == State::Phase::stopped;
}

void Runtime::post(std::function<void()> f) {
    std::lock_guard lock(state_->mutex);
    if (state_->phase != State::Phase::running) throw std::runtime_error("warpgate has shut down (interpreter exit)");
    asio::post(state_->io, std::move(f));
}

void Runtime::release(std::shared_ptr<void> object) {
    if (!object) return;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->phase == State::Phase::running) {
            asio::post(state_->io, [object = std::move(object)]() mutable { object.reset(); });
            return;
        }
        if (state_->phase == State::Phase::stopping) return;  // the io thread may still run: leave it
    }
    object.reset();  // the io thread has ended: nothing else touches it
}

void Runtime::track(std::weak_ptr<void> owner, std::function<asio::awaitable<void>()> close) {
    auto state = state_;
    post([state, owner = std::move(owner), close = std::move(close)]() mutable {
        state->tracked.remove_if([](const State::Tracked& t) { return t.owner.expired(); });
        state->tracked.push_back({std::move(owner), std::move(close)});
    });
}

py::object Runtime::submit(std::function<asio::awaitable<Deliver>()> op) {
    auto loop = py::module_::import("asyncio").attr("get_running_loop")();
    auto future = loop.attr("create_future")();
    auto pending = std::make_shared<Pending>(loop, future);

    // asyncio cancels on its thread; the signal belongs to the io thread.
    std::weak_ptr<Pending> weak = pending;
    future.attr("add_done_callback")(py::cpp_function([weak, this](py::object f) {
        if (!f.attr("cancelled")().cast<bool>()) return;
        try {
            post([weak] {
                if (auto p = weak.lock()) p->signal.emit(asio::cancellation_type::terminal);
            });
        } catch (const std::runtime_error&) {
            // shut down: the operation was cancelled already
        }
    }));

    auto state = state_;
    post([state, pending, op = std::move(op)]() mutable {
        auto id = state->next_id++;
        state->pending.emplace(id, pending);
        auto slot = pending->signal.slot();
        asio::co_spawn(state->io, std::move(op),
                       asio::bind_cancellation_slot(slot, [state, id, pending](std::exception_ptr error, Deliver deliver) {
                           state->pending.erase(id);
                           py::gil_scoped_acquire locked;
                           bool ok = !error;
                           py::object value;
                           try {
                               value = ok ? (deliver ? deliver() : py::none()) : python_error(error);
                           } catch (...) {
                               ok = false;
                               value = python_error(std::current_exception());
                           }
                           // The loop closed before the result came (the program is ending): nobody waits.
                           if (pending->loop.get().attr("is_closed")().cast<bool>()) return;
                           try {
                               pending->loop.get().attr("call_soon_threadsafe")(py::cpp_function(&settle),
                                                                                pending->future.get(), ok, value);
                           } catch (py::error_already_set& e) {
                               e.discard_as_unraisable("warpgate: completing an asyncio future");
                           }
                       }));
    });
    return future;
}

void Runtime::shutdown() {
    auto state = state_;
    {
        std::lock_guard lock(state->mutex);
        if (state->phase != State::Phase::running) return;
        state->phase = State::Phase::stopping;
    }
    py::gil_scoped_release unlocked;  // the io thread takes the GIL to complete futures
    auto closed = std::make_shared<std::promise<void>>();
    auto closed_future = closed->get_future();
    asio::post(state->io, [state, closed] {
        auto pending = state->pending;  // a cancelled operation's completion erases its entry
        for (auto& [id, weak] : pending)
            if (auto p = weak.lock()) p->signal.emit(asio::cancellation_type::terminal);
        asio::co_spawn(state->io, [state]() -> asio::awaitable<void> {
            for (auto& t : state->tracked) {
                auto owner = t.owner.lock();
                if (!owner) continue;
                try {
                    co_await t.close();
                } catch (const std::exception&) {
                    // closing is best effort at exit; the sockets close with the node anyway
                }
            }
            state->tracked.clear();
        }, [closed](std::exception_ptr) { closed->set_value(); });
    });
    bool all_closed = closed_future.wait_for(close_budget) == std::future_status::ready;
    state->work.reset();
    auto ran_out = state->ran_out.get_future();
    if (!all_closed || ran_out.wait_for(drain_budget) != std::future_status::ready) state->io.stop();
    state->thread.join();
    std::lock_guard lock(state->mutex);
    state->phase = State::Phase::stopped;
}

py::object python_error(std::exception_ptr error) {
    auto errors = py::module_::import("warpgate.errors");
    try {
        std::rethrow_exception(error);
    } catch (const Exception& e) {
        return errors.attr("from_code")(errc_name(e.errc()), e.error().message);
    } catch (const py::error_already_set& e) {
        return e.value();
    } catch (const std::exception& e) {
        return errors.attr("from_code")("io", e.what());
    } catch (...) {
        return errors.attr("from_code")("io", "unknown C++ exception");
    }
}

Deliver none() {
    return [] { return py::none(); };
}

}  // namespace warpgate::python
