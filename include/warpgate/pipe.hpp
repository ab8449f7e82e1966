// A Pipe is the application's end of a link: whole messages over TCP, datagrams over UDP,
// subscriptions and liveness. It lives on one executor (run the io_context on one thread or
// give the node a strand). docs/pipes.md documents the records and the queueing policy.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

namespace warpgate {

namespace net {
template <class T>
class Inbox;
}  // namespace net

using Message = Bytes;
using namespace std::chrono_literals;

// Which messages a subscription takes: those starting with `prefix` (empty: all) and, when
// set, only those from `sender`.
struct Filter {
    Bytes prefix;
    std::optional<Endpoint> sender;
    bool matches(ByteView message, const Endpoint& from) const;
};

class Pipe;
using PipePtr = std::shared_ptr<Pipe>;
using Handler = std::function<asio::awaitable<void>(Message, Endpoint, Pipe&)>;

// Messages matching a filter, delivered to a queue (recv) or to a handler.
class Subscription {
public:
    Subscription(asio::any_io_executor ex, Filter filter, Handler handler, std::size_t capacity);
    ~Subscription();
    const Filter& filter() const { return filter_; }
    asio::awaitable<Message> recv(std::chrono::milliseconds timeout = 5s);
    std::size_t dropped() const;

private:
    friend class Pipe;
    Filter filter_;
    Handler handler_;
    std::unique_ptr<net::Inbox<Message>> queue_;
};

struct PipeOptions {
    std::size_t max_message_size = 16 * 1024 * 1024;
    std::size_t inbox_capacity = 256;
};

// The application's side of a link to one peer: messages, subscriptions, liveness. Under it
// is a session (internal) that authenticates and carries every record over one path at a
// time, and can move to another path without the application noticing.
class Pipe : public std::enable_shared_from_this<Pipe> {
public:
    virtual ~Pipe();
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;

    // The current path's transport and endpoints.
    virtual Transport transport() const = 0;
    virtual Endpoint local_endpoint() const = 0;
    virtual Endpoint remote_endpoint() const = 0;
    asio::any_io_executor get_executor() const { return executor_; }
    bool is_open() const noexcept { return !close_reason_; }
    // Why the pipe closed: Errc::closed for an orderly end by either side, another code for a failure.
    const std::optional<Error>& close_reason() const noexcept { return close_reason_; }

    // Sends one message. Throws Exception: Errc::closed, Errc::malformed (too large), Errc::io.
    asio::awaitable<void> send(ByteView message);
    // Next message no subscription took. Throws Errc::timeout, or the close reason at the end.
    asio::awaitable<Message> recv(std::chrono::milliseconds timeout = 5s);
    // Exactly n bytes of the message stream, across message boundaries.
    asio::awaitable<Bytes> recv_exactly(std::size_t n, std::chrono::milliseconds timeout = 5s);

    // Subscriptions are offered each message in the order they were made; the first whose
    // filter matches takes it. On TCP a handler is awaited before the next message is read;
    // on UDP handlers run side by side (at most inbox_capacity at once, beyond that datagrams
    // are dropped and counted), so a slow one never stalls the socket it shares.
    std::shared_ptr<Subscription> subscribe(Filter filter);
    std::shared_ptr<Subscription> subscribe(Filter filter, Handler handler);
    void unsubscribe(const std::shared_ptr<Subscription>& subscription);

    // Liveness check answered by the peer's session below the application: a random nonce
    // out, the same nonce back, both authenticated. Returns the round-trip time; throws
    // Errc::timeout.
    asio::awaitable<std::chrono::microseconds> ping(std::chrono::milliseconds timeout);

    // Ends the pipe: the peer's recv() ends with Errc::closed. Idempotent.
    void close();

    // UDP datagrams dropped: the inbox was full, or they failed authentication or were replays.
    std::size_t dropped() const noexcept { return dropped_; }

    // Whether the link is sealed (the default) and by whom: the node id the link handshake
    // proved is at the other end; empty for a plaintext link.
    virtual bool encrypted() const = 0;
    virtual std::string peer_node_id() const = 0;
    // Through a relay (TURN) now; a link that started there moves to a direct path when one
    // is found (auto_connect keeps looking), without the application noticing.
    virtual bool relayed() const { return false; }

protected:
    Pipe(asio::any_io_executor ex, PipeOptions options);

    // The session's part: send a message or a ping nonce over the current path; end the
    // session (tell the peer when closed locally, close the paths).
    virtual asio::awaitable<void> send_message(ByteView message) = 0;
    virtual asio::awaitable<void> send_ping(ByteView nonce) = 0;
    virtual void end_session() = 0;
    bool closed_locally() const noexcept { return closed_locally_; }

    // Hands an authenticated message to the subscriptions or the inbox. Waits while a TCP
    // consumer is slow; returns false once the pipe is closed.
    asio::awaitable<bool> deliver(Message message);
    void answer_pong(ByteView nonce);
    // Ends the pipe with a reason (the path's end, a protocol error, close()).
    void finish(Error reason);
    void count_dropped() noexcept { ++dropped_; }

    const PipeOptions options_;

private:
    asio::any_io_executor executor_;
    std::optional<Error> close_reason_;
    std::unique_ptr<net::Inbox<Message>> inbox_;
    std::list<std::shared_ptr<Subscription>> subscriptions_;
    Bytes partial_;  // recv_exactly's bytes left over from the last message
    struct PendingPing;
    std::list<PendingPing*> pings_;
    std::size_t dropped_ = 0;
    std::size_t handlers_running_ = 0;
    bool closed_locally_ = false;

    static asio::awaitable<void> run_handler(std::shared_ptr<Pipe> self, std::shared_ptr<Subscription> taker, Message message);
};

}  // namespace warpgate
