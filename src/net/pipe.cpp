#include <warpgate/pipe.hpp>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include "log.hpp"

#include "crypto/random.hpp"
#include "net/inbox.hpp"

namespace warpgate {

bool Filter::matches(ByteView message, const Endpoint& from) const {
    if (sender && *sender != from) return false;
    return message.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), message.begin());
}

Subscription::Subscription(asio::any_io_executor ex, Filter filter, Handler handler, std::size_t capacity)
    : filter_(std::move(filter)), handler_(std::move(handler)),
      queue_(std::make_unique<net::Inbox<Message>>(ex, capacity)) {}

Subscription::~Subscription() = default;

asio::awaitable<Message> Subscription::recv(std::chrono::milliseconds timeout) { return queue_->pop(timeout); }

std::size_t Subscription::dropped() const { return queue_->dropped(); }

struct Pipe::PendingPing {
    std::array<std::uint8_t, 8> nonce;
    asio::steady_timer* timer;
    bool answered = false;
};

Pipe::Pipe(asio::any_io_executor ex, PipeOptions options)
    : options_(options), executor_(ex), inbox_(std::make_unique<net::Inbox<Message>>(ex, options.inbox_capacity)) {}

Pipe::~Pipe() = default;

asio::awaitable<void> Pipe::send(ByteView message) {
    if (close_reason_) throw Exception(*close_reason_);
    if (message.size() > options_.max_message_size)
        throw Exception(Errc::malformed, "message of " + std::to_string(message.size()) + " bytes exceeds the limit of " +
                                             std::to_string(options_.max_message_size));
    co_await send_message(message);
}

asio::awaitable<Message> Pipe::recv(std::chrono::milliseconds timeout) { return inbox_->pop(timeout); }

asio::awaitable<Bytes> Pipe::recv_exactly(std::size_t n, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (partial_.size() < n) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto message = co_await inbox_->pop(std::max(left, std::chrono::milliseconds(0)));
        partial_.insert(partial_.end(), message.begin(), message.end());
    }
    Bytes out(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(n));
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(n));
    co_return out;
}

std::shared_ptr<Subscription> Pipe::subscribe(Filter filter) {
    auto sub = std::make_shared<Subscription>(executor_, std::move(filter), nullptr, options_.inbox_capacity);
    if (close_reason_) sub->queue_->close(*close_reason_);
    subscriptions_.push_back(sub);
    return sub;
}

std::shared_ptr<Subscription> Pipe::subscribe(Filter filter, Handler handler) {
    auto sub = std::make_shared<Subscription>(executor_, std::move(filter), std::move(handler), 1);
    subscriptions_.push_back(sub);
    return sub;
}

void Pipe::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
    subscriptions_.remove(subscription);
    subscription->queue_->close(Error{Errc::cancelled, "unsubscribed"});
}

asio::awaitable<std::chrono::microseconds> Pipe::ping(std::chrono::milliseconds timeout) {
    if (close_reason_) throw Exception(*close_reason_);
    asio::steady_timer timer(executor_, timeout);
    PendingPing pending{{}, &timer};
    crypto::random_bytes(pending.nonce);
    pings_.push_back(&pending);
    struct Unregister {
        std::list<PendingPing*>& list;
        PendingPing* item;
        ~Unregister() { list.remove(item); }
    } unregister{pings_, &pending};

    auto start = std::chrono::steady_clock::now();
    co_await send_ping(pending.nonce);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (pending.answered)
        co_return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (close_reason_) throw Exception(*close_reason_);
    if (ec) throw Exception(Errc::cancelled, "ping cancelled");
    throw Exception(Errc::timeout, "no answer to a liveness ping within " + net::describe(timeout) + " from " +
                                       remote_endpoint().to_string());
}

void Pipe::answer_pong(ByteView nonce) {
    for (auto* p : pings_) {
        if (!p->answered && std::equal(nonce.begin(), nonce.end(), p->nonce.begin(), p->nonce.end())) {
            p->answered = true;
            p->timer->cancel();
            return;
        }
    }
}

asio::awaitable<void> Pipe::run_handler(std::shared_ptr<Pipe> self, std::shared_ptr<Subscription> taker, Message message) {
    ++self->handlers_running_;
    auto from = self->remote_endpoint();
    try {
        co_await taker->handler_(std::move(message), from, *self);
    } catch (const std::exception& e) {
        log::warn("message handler for {} failed: {}", from.to_string(), e.what());
    }
    --self->handlers_running_;
}

asio::awaitable<bool> Pipe::deliver(Message message) {
    std::shared_ptr<Subscription> taker;
    for (auto& sub : subscriptions_) {
        if (sub->filter_.matches(message, remote_endpoint())) {
            taker = sub;
            break;
        }
    }
    if (taker && taker->handler_) {
        if (transport() == TCP) {
            co_await run_handler(shared_from_this(), taker, std::move(message));
            co_return is_open();
        }
        // UDP sessions share the listen socket's reader: a slow handler must not hold up
        // every other session and STUN. Handlers run on their own, at most inbox_capacity at
        // once per pipe; beyond that the datagram is dropped and counted, as a full inbox would.
        if (handlers_running_ >= options_.inbox_capacity) {
            ++dropped_;
            co_return is_open();
        }
        asio::co_spawn(executor_, run_handler(shared_from_this(), taker, std::move(message)), asio::detached);
        co_return is_open();
    }
    net::Inbox<Message>* queue = inbox_.get();
    if (taker) queue = taker->queue_.get();
    if (transport() == TCP) {
        co_await queue->push(std::move(message));
    } else if (!queue->try_push(std::move(message))) {
        ++dropped_;
    }
    co_return is_open();
}

void Pipe::finish(Error reason) {
    if (close_reason_) return;
    close_reason_ = reason;
    inbox_->close(reason);
    for (auto& sub : subscriptions_) sub->queue_->close(reason);
    for (auto* p : pings_) p->timer->cancel();
    end_session();
}

void Pipe::close() {
    if (close_reason_) return;
    closed_locally_ = true;
    finish({Errc::closed, "link closed locally"});
}

}  // namespace warpgate
