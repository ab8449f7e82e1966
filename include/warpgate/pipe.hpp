// A Pipe is one concrete path to a peer: a connected TCP stream or a UDP association.
// TCP pipes carry whole messages (length-prefixed frames); UDP pipes carry datagrams.
// A Pipe and everything it does live on one executor (run the io_context on one thread or
// give the node a strand). docs/pipes.md documents the framing and the queueing policy.
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
enum class FrameType : std::uint8_t;
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

// Encrypts application messages once a link handshake has run (docs/link-handshake.md).
class MessageCipher {
public:
    virtual ~MessageCipher() = default;
    virtual Bytes seal(ByteView plaintext) = 0;
    virtual Result<Bytes> open(ByteView record) = 0;
    // Who the handshake proved is at the other end.
    virtual const Bytes& peer_public_key() const = 0;
    virtual const std::string& peer_node_id() const = 0;
};

struct PipeOptions {
    std::size_t max_message_size = 16 * 1024 * 1024;
    std::size_t inbox_capacity = 256;
};

class Pipe : public std::enable_shared_from_this<Pipe> {
public:
    virtual ~Pipe();
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;

    Transport transport() const noexcept { return transport_; }
    const Endpoint& local_endpoint() const noexcept { return local_; }
    const Endpoint& remote_endpoint() const noexcept { return remote_; }
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
    // filter matches takes it. A handler is awaited before the next message is read.
    std::shared_ptr<Subscription> subscribe(Filter filter);
    std::shared_ptr<Subscription> subscribe(Filter filter, Handler handler);
    void unsubscribe(const std::shared_ptr<Subscription>& subscription);

    // Liveness check answered by the peer's pipe below the application: a random nonce out,
    // the same nonce back. Returns the round-trip time; throws Errc::timeout.
    asio::awaitable<std::chrono::microseconds> ping(std::chrono::milliseconds timeout);

    // Ends the pipe: the peer's recv() ends with Errc::closed. Idempotent.
    void close();

    // UDP datagrams dropped because the inbox was full.
    std::size_t dropped() const noexcept { return dropped_; }

    // --- for warpgate's own layers (connection ids, link handshake) ---
    // Starts reading. Pipes are made idle so their owner can install handlers first.
    virtual void start() = 0;
    using ControlHandler = std::function<void(net::FrameType, ByteView)>;
    void on_control(ControlHandler handler) { control_handler_ = std::move(handler); }
    asio::awaitable<void> send_control(net::FrameType type, ByteView payload);
    // From now on application messages are sealed and only sealed messages are accepted.
    void set_cipher(std::unique_ptr<MessageCipher> cipher);
    bool encrypted() const noexcept { return cipher_ != nullptr; }
    // The verified peer of an encrypted pipe; empty for a plaintext one.
    std::string peer_node_id() const { return cipher_ ? cipher_->peer_node_id() : std::string(); }

protected:
    Pipe(asio::any_io_executor ex, Transport transport, Endpoint local, Endpoint remote, PipeOptions options);

    // Transport specifics: write one frame; close the socket (idempotent). A pipe closed
    // locally tells its peer when the transport has no close of its own (UDP).
    virtual asio::awaitable<void> write_frame(net::FrameType type, ByteView payload) = 0;
    virtual void close_transport() = 0;
    bool closed_locally() const noexcept { return closed_locally_; }

    // Called by the reader for every frame received, in order. Waits while a TCP consumer is
    // slow; returns false once the pipe must stop reading.
    asio::awaitable<bool> dispatch(net::FrameType type, Bytes payload);
    // Ends the pipe with a reason (the reader's EOF, a protocol error, close()).
    void finish(Error reason);

    const PipeOptions options_;

private:
    asio::awaitable<bool> deliver(Message message);
    Result<Message> open_message(net::FrameType type, Bytes payload);
    void answer_pong(ByteView nonce);

    asio::any_io_executor executor_;
    Transport transport_;
    Endpoint local_;
    Endpoint remote_;
    std::optional<Error> close_reason_;
    std::unique_ptr<net::Inbox<Message>> inbox_;
    std::list<std::shared_ptr<Subscription>> subscriptions_;
    Bytes partial_;  // recv_exactly's bytes left over from the last message
    std::unique_ptr<MessageCipher> cipher_;
    ControlHandler control_handler_;
    struct PendingPing;
    std::list<PendingPing*> pings_;
    std::size_t dropped_ = 0;
    bool closed_locally_ = false;
};

}  // namespace warpgate
