#include "proto/upnp_worker.hpp"

namespace warpgate::upnp {

BlockingWorker::BlockingWorker() : thread_([state = state_] { loop(state); }) {}

BlockingWorker::~BlockingWorker() { join(); }

void BlockingWorker::submit(std::function<void()> job) {
    {
        std::lock_guard lock(state_->mutex);
        state_->jobs.push_back(std::move(job));
    }
    state_->wake.notify_one();
}

void BlockingWorker::loop(const std::shared_ptr<State>& state) {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(state->mutex);
            state->busy = false;
            state->wake.wait(lock, [&] { return state->stopping || !state->jobs.empty(); });
            if (state->stopping) return;
            job = std::move(state->jobs.front());
            state->jobs.pop_front();
            state->busy = true;
        }
        job();
    }
}

void BlockingWorker::join() {
    bool busy = false;
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
        state_->jobs.clear();
        busy = state_->busy;
    }
    state_->wake.notify_one();
    if (!thread_.joinable()) return;
    if (busy) thread_.detach();
    else thread_.join();
}

}  // namespace warpgate::upnp
