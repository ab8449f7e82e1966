// Paths: what carries a session's records. A TcpPath is one connected stream (records framed
// by a length prefix, read by the path itself); a UdpPath is one 4-tuple on a UDP socket that
// may be shared (the listen socket) and whose datagrams are read and demultiplexed elsewhere
// (session/demux.hpp). A session holds its current path and may swap it for another.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

#include "session/record.hpp"

namespace warpgate::session {

class Path {
public:
    virtual ~Path() = default;
    Transport transport() const noexcept { return transport_; }
    const Endpoint& local() const noexcept { return local_; }
    const Endpoint& remote() const noexcept { return remote_; }
    virtual bool is_open() const = 0;
    // Sends one record. Throws Exception (Errc::io, Errc::closed).
    asio::awaitable<void> send(ByteView record) { return send_parts(record, {}); }
    // Sends one record given as a head and a body, gathered from where they lie (a plain
    // record's header and the application's message: no copy into one buffer). Throws as send().
    virtual asio::awaitable<void> send_parts(ByteView head, ByteView body) = 0;
    // Best effort, never waits (a close record on the way out).
    virtual void send_now(ByteView record) noexcept = 0;
    virtual void close() noexcept = 0;
    // Through a relay (TURN): a session leaves it for a direct path, and returns to it only
    // when the direct path went quiet.
    virtual bool relayed() const noexcept { return false; }
    // A datagram path that reads itself (a relay's): hands each record to `sink` until it
    // returns false; `on_end` then gets why. TCP paths read by start() and UDP paths by the
    // demultiplexer do not (Errc::unsupported).
    virtual void read_datagrams(std::function<asio::awaitable<bool>(std::span<std::uint8_t>)> sink, std::function<void(Error)> on_end);
    std::string describe() const;  // "UDP 10.0.0.1:4000 -> 192.0.2.7:5000"

protected:
    Path(Transport transport, Endpoint local, Endpoint remote) : transport_(transport), local_(local), remote_(remote) {}

private:
    Transport transport_;
    Endpoint local_;
    Endpoint remote_;
};
using PathPtr = std::shared_ptr<Path>;

// Receives each record of a datagram path that reads itself (Path::read_datagrams) as a
// mutable span (sealed records are opened in place). Returns false to stop reading.
using RecordSink = std::function<asio::awaitable<bool>(std::span<std::uint8_t>)>;

// A record as a TCP stream's reader hands it over: whole, in `head` (sealed records are opened
// in place there). A large sealed or plain record (session/record.hpp, body_layout) comes in
// pieces instead: its body was read from the socket straight into a buffer of its own, which
// the session hands on as the application's message (no copy out of a read buffer); `head`
// holds the bytes before the body and `tail` those after it (a sealed record's tag).
struct StreamRecord {
    std::span<std::uint8_t> head;
    Bytes body;
    std::span<std::uint8_t> tail;
    bool split = false;
    std::size_t size() const noexcept { return head.size() + body.size() + tail.size(); }
};

// Receives each record of a TCP stream, in order. Returns false to stop reading. When the path
// ends, `on_end` gets why.
using StreamSink = std::function<asio::awaitable<bool>(StreamRecord&)>;
using EndSink = std::function<void(Error)>;

class TcpPath final : public Path, public std::enable_shared_from_this<TcpPath> {
public:
    explicit TcpPath(asio::ip::tcp::socket socket);
    bool is_open() const override { return socket_.is_open(); }
    asio::awaitable<void> send_parts(ByteView head, ByteView body) override;
    void send_now(ByteView record) noexcept override;
    void close() noexcept override;
    // A stream through a relay (a TURN TCP allocation, RFC 6062): relayed() from now on, and
    // `relay` (what keeps the allocation open; may be null) is held until the path closes.
    void mark_relayed(std::shared_ptr<void> relay);
    bool relayed() const noexcept override { return relayed_; }

    // Starts the reader. Records over `max_record` bytes end the path (Errc::malformed) before
    // any of their body is read; the limit can be raised once the peer authenticated
    // (set_max_record). Sealed and plain records from `split_from` bytes on arrive split. On a
    // path reading already (one the listener accepted, then handed to a claim:
    // Acceptor::claim_tcp) the reader stays and takes the new sink and limit.
    static constexpr std::size_t split_from = 4096;
    void start(StreamSink sink, EndSink on_end, std::size_t max_record);
    void set_max_record(std::size_t max_record) { max_record_ = max_record; }
    // Replaces the sink (the listener's introduction hands the stream to its session).
    void set_sink(StreamSink sink, EndSink on_end);

private:
    // Bytes read from the socket and not handed on yet: bytes[begin, end).
    struct Received {
        Bytes bytes;
        std::size_t begin = 0;
        std::size_t end = 0;
        std::size_t held() const noexcept { return end - begin; }
    };
    asio::awaitable<void> read_records();
    // Reads until `in` holds `need` bytes. False (with `reason`) when the stream ended.
    asio::awaitable<bool> fill(Received& in, std::size_t need, Error& reason);
    // Hands what `in` holds of a record of `length` bytes (not all of it) to `record`'s pieces
    // and reads the rest straight into them; what follows the record goes into `in`.
    asio::awaitable<bool> read_split(Received& in, std::size_t length, BodyLayout layout, StreamRecord& record, Error& reason);
    // Whether a read that returned `ec` ended the stream, and why (in `reason`).
    bool read_ended(const asio::error_code& ec, Error& reason) const;

    asio::awaitable<void> wait_write_turn();
    void end_write_turn() noexcept;

    asio::ip::tcp::socket socket_;
    // Records from concurrent senders must not interleave. The sender that finds the stream
    // free writes at once, without a round through the scheduler; others wait on the timer
    // (which never expires: the writer that finishes cancels one wait).
    bool writing_ = false;
    std::size_t write_waiters_ = 0;
    asio::steady_timer write_turn_;
    StreamSink sink_;
    EndSink on_end_;
    std::size_t max_record_ = 0;
    bool relayed_ = false;
    std::shared_ptr<void> relay_;
    bool reading_ = false;
    // Where a split record's head and tail are kept while its sink runs.
    std::array<std::uint8_t, max_body_head> split_head_{};
    std::array<std::uint8_t, crypto::aead_tag_size> split_tail_{};
};

using UdpSocketPtr = std::shared_ptr<asio::ip::udp::socket>;

class UdpPath final : public Path {
public:
    UdpPath(UdpSocketPtr socket, Endpoint remote);
    bool is_open() const override { return socket_->is_open(); }
    asio::awaitable<void> send_parts(ByteView head, ByteView body) override;
    void send_now(ByteView record) noexcept override;
    // Closes the socket only when this path owns it (a dialled socket), never the listen socket.
    void close() noexcept override;
    const UdpSocketPtr& socket() const { return socket_; }
    void own_socket() { owns_socket_ = true; }
    bool owns_socket() const { return owns_socket_; }

private:
    UdpSocketPtr socket_;
    bool owns_socket_ = false;
};

// Connects a TCP stream from `local_ip` (any when unset). No timeout of its own: callers race
// it (net::with_timeout); cancellation closes the socket. Errc::refused when nothing listens.
asio::awaitable<std::shared_ptr<TcpPath>> dial_tcp(Endpoint remote, std::optional<asio::ip::address> local_ip);
// The same from `local` exactly (ip and port), with SO_REUSEADDR and SO_REUSEPORT so that the
// port a listener holds can dial too (the listener sets SO_REUSEPORT as well). A connect no
// SYN of the peer reached within `unanswered` ends with Errc::timeout; one that met the
// peer's SYN (a simultaneous open) goes on.
asio::awaitable<std::shared_ptr<TcpPath>> dial_tcp(Endpoint remote, Endpoint local,
                                                   std::chrono::milliseconds unanswered = std::chrono::milliseconds::max());
// A fresh UDP socket bound to `local_ip`:0 aimed at `remote` (the path owns the socket).
std::shared_ptr<UdpPath> open_udp(asio::any_io_executor ex, Endpoint remote, std::optional<asio::ip::address> local_ip);

}  // namespace warpgate::session
