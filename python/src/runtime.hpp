// The bridge between asyncio and warpgate's Asio coroutines: one io_context on its own thread,
// C++ coroutines started there whose results complete asyncio futures, and the rules that keep
// Python objects and C++ objects each on the side that may touch them.
//
// Threads: the io thread owns every warpgate object (a Node lives on one executor) and takes
// the GIL only to hand results over; a Python thread never touches a warpgate object itself, it
// posts to the io thread, and releases the GIL while it waits for an answer.
#pragma once
#include <pybind11/pybind11.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <future>
#include <memory>
#include <utility>

namespace warpgate::python {

namespace py = pybind11;

// A Python reference that C++ code on the io thread may hold and drop: released under the GIL.
class PyRef {
public:
    PyRef() = default;
    explicit PyRef(py::object object) : object_(std::move(object)) {}
    PyRef(const PyRef& other);
    PyRef& operator=(const PyRef&) = delete;
    PyRef(PyRef&&) noexcept = default;
    ~PyRef();
    const py::object& get() const { return object_; }  // only under the GIL

private:
    py::object object_;
};

// What a finished C++ coroutine hands to Python: builds the result object, called under the GIL.
using Deliver = std::function<py::object()>;

class Runtime {
public:
    // The process's runtime; its io thread starts on first use.
    static Runtime& get();

    asio::any_io_executor executor();

    // Starts `op` on the io thread and returns a future of the running asyncio loop that it
    // completes (through call_soon_threadsafe) with deliver()'s object or the exception as a
    // warpgate.Error. Cancelling the future cancels the coroutine (terminal cancellation).
    py::object submit(std::function<asio::awaitable<Deliver>()> op);

    // Runs `f` on the io thread and waits for it with the GIL released; rethrows its exception.
    // Once the io thread has ended (after shutdown) nothing else runs, and `f` runs here.
    template <class F>
    auto call(F f) -> decltype(f()) {
        using R = decltype(f());
        if (on_io_thread() || ended()) return f();
        std::packaged_task<R()> task(std::move(f));
        auto result = task.get_future();
        post(std::function<void()>([&task] { task(); }));
        {
            py::gil_scoped_release unlocked;
            result.wait();
        }
        return result.get();
    }

    // Drops a C++ object on the io thread (where its destructor may touch sockets), or here once
    // the io thread has ended.
    void release(std::shared_ptr<void> object);

    // Nodes still open at exit are closed by shutdown(); register them when created.
    void track(std::weak_ptr<void> owner, std::function<asio::awaitable<void>()> close);

    // atexit: cancels every operation, closes every tracked node (bounded), ends and joins the
    // io thread. Later calls into warpgate raise. Idempotent.
    void shutdown();

private:
    struct State;
    Runtime();
    bool on_io_thread() const;
    bool ended() const;
    void post(std::function<void()> f);
    std::shared_ptr<State> state_;
};

// A warpgate object as a Python wrapper holds it: released on the io thread.
template <class T>
struct Held {
    explicit Held(std::shared_ptr<T> object) : ptr(std::move(object)) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { Runtime::get().release(std::move(ptr)); }
    std::shared_ptr<T> ptr;
};

// The Python exception (a warpgate.Error subclass, see errors.py) for a C++ exception.
py::object python_error(std::exception_ptr error);

// Delivers None.
Deliver none();

}  // namespace warpgate::python
