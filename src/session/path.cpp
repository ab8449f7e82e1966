#include "session/path.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "net/timeout.hpp"
#include "session/record.hpp"

namespace warpgate::session {
namespace {

Endpoint to_endpoint(const asio::ip::tcp::endpoint& e) { return {e.address(), e.port()}; }
Endpoint to_endpoint(const asio::ip::udp::endpoint& e) { return {e.address(), e.port()}; }

// An idle stream keeps this much buffer; it grows only with bytes actually received.
constexpr std::size_t idle_buffer = 2048;
constexpr std::size_t keep_buffer = 256 * 1024;
// A sender that wrote this much without waiting for the socket lets the thread's others run.
// Counted per thread: whatever the paths, it is the thread's readers that would starve.
constexpr std::size_t yield_after = 1024 * 1024;
thread_local std::size_t written_at_once = 0;  // bytes since a write on this thread waited or stepped aside
// Records before a session is established are whole: the listener's sink never sees pieces.
static_assert(TcpPath::split_from > max_introduction_record && TcpPath::split_from > max_body_head + crypto::aead_tag_size);

template <std::size_t N>
std::array<asio::const_buffer, N> buffers_of(const std::array<ByteView, N>& parts) {
    std::array<asio::const_buffer, N> out;
    for (std::size_t i = 0; i < N; ++i) out[i] = asio::buffer(parts[i].data(), parts[i].size());
    return out;
}

}  // namespace

std::string Path::describe() const {
    return fmt::format("{} {} -> {}", to_string(transport_), local_.to_string(), remote_.to_string());
}

void Path::read_datagrams(RecordSink, EndSink) {
    throw Exception(Errc::unsupported, "the path " + describe() + " is read elsewhere");
}

TcpPath::TcpPath(asio::ip::tcp::socket socket)
    : Path(TCP, to_endpoint(socket.local_endpoint()), to_endpoint(socket.remote_endpoint())), socket_(std::move(socket)),
      write_turn_(socket_.get_executor(), asio::steady_timer::time_point::max()) {
    socket_.set_option(asio::ip::tcp::no_delay(true));
    // For the synchronous first try of every write (asio's own async operations do not depend
    // on this flag).
    socket_.non_blocking(true);
}

void TcpPath::start(StreamSink sink, EndSink on_end, std::size_t max_record) {
    sink_ = std::move(sink);
    on_end_ = std::move(on_end);
    max_record_ = max_record;
    if (std::exchange(reading_, true)) return;
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()]() { return self->read_records(); }, asio::detached);
}

void TcpPath::set_sink(StreamSink sink, EndSink on_end) {
    sink_ = std::move(sink);
    on_end_ = std::move(on_end);
}

asio::awaitable<void> TcpPath::wait_write_turn() {
    while (writing_) {
        ++write_waiters_;
        asio::error_code ec;
        co_await write_turn_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        --write_waiters_;
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            if (!writing_ && write_waiters_ > 0) write_turn_.cancel_one();  // the turn it may have been given
            throw Exception(Errc::cancelled, "sending to " + remote().to_string() + " cancelled");
        }
    }
    writing_ = true;
}

void TcpPath::end_write_turn() noexcept {
    writing_ = false;
    if (write_waiters_ > 0) write_turn_.cancel_one();
}

asio::awaitable<void> TcpPath::send_parts(ByteView head, ByteView body) {
    co_await wait_write_turn();
    struct EndTurn {
        TcpPath& path;
        ~EndTurn() { path.end_write_turn(); }
    } end_turn{*this};
    if (!socket_.is_open()) throw Exception(Errc::closed, "the TCP path to " + remote().to_string() + " is closed");
    auto length = encode_length(head.size() + body.size());
    std::array<ByteView, 3> parts{ByteView(length), head, body};
    // Most records fit in the socket buffer: written now, they cost no round through the
    // scheduler. Only what does not fit waits for the socket.
    asio::error_code ec;
    std::size_t sent = socket_.write_some(buffers_of(parts), ec);
    if (ec == asio::error::would_block) {
        ec = {};
        sent = 0;
    }
    bool waited = false;
    if (!ec && sent < length.size() + head.size() + body.size()) {
        for (auto& part : parts) {
            auto skip = std::min(sent, part.size());
            part = part.subspan(skip);
            sent -= skip;
        }
        co_await asio::async_write(socket_, buffers_of(parts), asio::redirect_error(asio::use_awaitable, ec));
        waited = true;
    }
    if (ec) {
        // A record cut short leaves the stream unusable, whatever the cause.
        close();
        throw Exception(Errc::io, "sending to " + remote().to_string() + ": " + ec.message());
    }
    // A sender whose writes never wait (a peer that reads as fast, on another core) would keep
    // this thread from reading: the peer's acknowledgements and pings would go unread. It
    // steps aside now and then.
    written_at_once = waited ? 0 : written_at_once + length.size() + head.size() + body.size();
    if (written_at_once >= yield_after) {
        written_at_once = 0;
        co_await asio::post(socket_.get_executor(), asio::use_awaitable);
    }
}

void TcpPath::send_now(ByteView record) noexcept {
    // Only when nothing else is being written: a close record must not cut into a record.
    if (writing_) return;
    auto length = encode_length(record.size());
    std::array<asio::const_buffer, 2> buffers{asio::buffer(length), asio::buffer(record.data(), record.size())};
    asio::error_code ec;
    socket_.send(buffers, 0, ec);
}

void TcpPath::close() noexcept {
    asio::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    relay_.reset();
}

void TcpPath::mark_relayed(std::shared_ptr<void> relay) {
    relayed_ = true;
    relay_ = std::move(relay);
}

bool TcpPath::read_ended(const asio::error_code& ec, Error& reason) const {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) {
        reason = {Errc::closed, "the TCP path was closed"};
        return true;
    }
    if (!ec) return false;
    if (ec != asio::error::eof && ec != asio::error::connection_reset)
        reason = {Errc::io, "receiving from " + remote().to_string() + ": " + ec.message()};
    return true;
}

asio::awaitable<bool> TcpPath::fill(Received& in, std::size_t need, Error& reason) {
    while (in.held() < need) {
        if (in.begin > 0 && in.bytes.size() - in.begin < need) {
            std::memmove(in.bytes.data(), in.bytes.data() + in.begin, in.held());
            in.end -= in.begin;
            in.begin = 0;
        }
        // Grow only when full of received bytes: a header announcing 16 MiB costs nothing
        // until the bytes arrive.
        if (in.end == in.bytes.size()) in.bytes.resize(std::min(in.begin + need, std::max(in.bytes.size() * 2, idle_buffer)));
        auto into = asio::buffer(in.bytes.data() + in.end, in.bytes.size() - in.end);
        asio::error_code ec;
        auto n = co_await socket_.async_read_some(into, asio::redirect_error(asio::use_awaitable, ec));
        if (read_ended(ec, reason)) co_return false;
        in.end += n;
    }
    co_return true;
}

asio::awaitable<bool> TcpPath::read_split(Received& in, std::size_t length, BodyLayout layout, StreamRecord& record, Error& reason) {
    std::copy_n(in.bytes.data() + in.begin, layout.head, split_head_.begin());
    record.head = std::span(split_head_.data(), layout.head);
    record.tail = std::span(split_tail_.data(), layout.tail);
    record.body.resize(length - layout.head - layout.tail);
    record.split = true;
    // The body and tail still to come, in order. `n` bytes that arrived fill them; what is
    // left of `n` belongs to the records after this one.
    std::array<std::span<std::uint8_t>, 2> rest{std::span(record.body), record.tail};
    auto advance = [&rest](std::size_t n, const std::uint8_t* from) {
        for (auto& part : rest) {
            auto take = std::min(n, part.size());
            if (from) {
                std::copy_n(from, take, part.data());
                from += take;
            }
            part = part.subspan(take);
            n -= take;
        }
        return n;
    };
    advance(in.held() - layout.head, in.bytes.data() + in.begin + layout.head);  // all `in` holds: the record is not complete
    in.begin = in.end = 0;
    while (!rest[1].empty() || !rest[0].empty()) {
        // One read fills the body where it is kept, then the tail, then the start of what
        // follows (at most idle_buffer of it: that much is copied out again).
        std::array<asio::mutable_buffer, 3> into{asio::buffer(rest[0].data(), rest[0].size()), asio::buffer(rest[1].data(), rest[1].size()),
                                                 asio::buffer(in.bytes.data(), std::min(in.bytes.size(), idle_buffer))};
        asio::error_code ec;
        auto n = co_await socket_.async_read_some(into, asio::redirect_error(asio::use_awaitable, ec));
        if (read_ended(ec, reason)) co_return false;
        in.end = advance(n, nullptr);
    }
    co_return true;
}

asio::awaitable<void> TcpPath::read_records() {
    auto self = shared_from_this();  // the reader keeps the path alive until the stream ends
    Received in{Bytes(idle_buffer)};
    Error reason{Errc::closed, "peer closed the connection"};
    for (;;) {
        bool more = co_await fill(in, tcp_length_size, reason);
        if (!more) break;
        auto length = decode_length(std::span<const std::uint8_t, tcp_length_size>(in.bytes.data() + in.begin, tcp_length_size), max_record_);
        if (!length) {
            reason = {Errc::malformed, "from " + remote().to_string() + ": " + length.error().message};
            break;
        }
        auto need = tcp_length_size + *length;
        // A large record not read yet: its body goes straight to where it is kept.
        std::optional<BodyLayout> layout;
        if (*length >= split_from && in.held() < need) {
            more = co_await fill(in, tcp_length_size + max_body_head, reason);
            if (!more) break;
            if (in.held() < need) layout = body_layout(in.bytes[in.begin + tcp_length_size]);
        }
        StreamRecord record;
        if (layout) {
            in.begin += tcp_length_size;
            more = co_await read_split(in, *length, *layout, record, reason);
        } else {
            more = co_await fill(in, need, reason);
            record.head = std::span<std::uint8_t>(in.bytes.data() + in.begin + tcp_length_size, *length);
            in.begin += need;
        }
        if (!more) break;
        if (!sink_) break;
        auto sink = sink_;  // the sink may replace itself
        bool keep_reading = co_await sink(record);
        if (!keep_reading) {
            reason = {Errc::closed, "the session stopped reading"};
            break;
        }
        if (in.begin == in.end) {
            in.begin = in.end = 0;
            if (in.bytes.size() > keep_buffer) Bytes(idle_buffer).swap(in.bytes);
        }
    }
    close();
    if (auto on_end = std::exchange(on_end_, nullptr)) on_end(reason);
    sink_ = nullptr;
}

UdpPath::UdpPath(UdpSocketPtr socket, Endpoint remote)
    : Path(UDP, to_endpoint(socket->local_endpoint()), remote), socket_(std::move(socket)) {
    // send_now never blocks (asio's async operations do not depend on this flag).
    asio::error_code ec;
    socket_->non_blocking(true, ec);
}

asio::awaitable<void> UdpPath::send_parts(ByteView head, ByteView body) {
    std::array<ByteView, 2> parts{head, body};
    // Asynchronous although a datagram almost always leaves at once: the round through the
    // scheduler lets this thread read too. A sender looping on synchronous sends would fill
    // the peer's (or its own side's) receive buffer, on loopback its own, and lose the rest.
    asio::error_code ec;
    co_await socket_->async_send_to(buffers_of(parts), asio::ip::udp::endpoint(remote().ip, remote().port),
                                    asio::redirect_error(asio::use_awaitable, ec));
    // A datagram that cannot leave (an ICMP error from an earlier one, a local firewall's
    // EPERM, a full buffer) is a lost datagram: UDP sessions live with loss. Only a closed
    // socket ends the path.
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || !socket_->is_open())
        throw Exception(Errc::closed, "the UDP path to " + remote().to_string() + " is closed");
}

void UdpPath::send_now(ByteView record) noexcept {
    asio::error_code ec;
    socket_->send_to(asio::buffer(record.data(), record.size()), asio::ip::udp::endpoint(remote().ip, remote().port), 0, ec);
}

void UdpPath::close() noexcept {
    if (!owns_socket_) return;
    asio::error_code ec;
    socket_->close(ec);
}

namespace {

// The kernel's TCP state of `socket` (TCP_INFO), 0 when it cannot tell.
int tcp_state(asio::ip::tcp::socket& socket) {
    tcp_info info{};
    socklen_t size = sizeof(info);
    if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return 0;
    return info.tcpi_state;
}

asio::awaitable<std::shared_ptr<TcpPath>> connect_socket(asio::ip::tcp::socket socket, Endpoint remote,
                                                         std::chrono::milliseconds unanswered = std::chrono::milliseconds::max()) {
    asio::ip::tcp::endpoint target(remote.ip, remote.port);
    asio::error_code ec;
    // After `unanswered`, a connect still in SYN_SENT gives up; one whose socket met the
    // peer's SYN (SYN_RECV: a simultaneous open half done) goes on, since closing it then
    // would send a FIN and hold the 4-tuple, so that no new connect could take its place.
    asio::steady_timer patience(socket.get_executor());
    bool gave_up = false;
    if (unanswered != std::chrono::milliseconds::max()) {
        patience.expires_after(unanswered);
        patience.async_wait([&socket, &gave_up](asio::error_code waited) {
            if (waited || tcp_state(socket) != TCP_SYN_SENT) return;  // (cancelled: the frame may be gone)
            gave_up = true;
            asio::error_code ignored;
            socket.cancel(ignored);
        });
    }
    co_await socket.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
    patience.cancel();
    if (gave_up) throw Exception(Errc::timeout, "connecting to " + remote.to_string() + ": no answer within " + net::describe(unanswered));
    if (ec == asio::error::connection_refused)
        throw Exception(Errc::refused, "connection refused by " + remote.to_string() + " (nothing listening)");
    if (ec == asio::error::operation_aborted) throw Exception(Errc::cancelled, "connecting to " + remote.to_string() + " cancelled");
    // From a reused local port: a connection with this 4-tuple exists already (the peer's
    // SYN reached our listener first).
    if (ec == asio::error_code(EADDRNOTAVAIL, asio::system_category()))  // asio's category maps to no std::errc
        throw Exception(Errc::address_in_use, "connecting to " + remote.to_string() + ": that connection exists already");
    if (ec) throw Exception(Errc::unreachable, "connecting to " + remote.to_string() + ": " + ec.message());
    co_return std::make_shared<TcpPath>(std::move(socket));
}

}  // namespace

asio::awaitable<std::shared_ptr<TcpPath>> dial_tcp(Endpoint remote, std::optional<asio::ip::address> local_ip) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(remote.ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4());
    if (local_ip) socket.bind({*local_ip, 0});
    auto path = co_await connect_socket(std::move(socket), remote);
    co_return path;
}

asio::awaitable<std::shared_ptr<TcpPath>> dial_tcp(Endpoint remote, Endpoint local, std::chrono::milliseconds unanswered) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(remote.ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4());
    socket.set_option(asio::socket_base::reuse_address(true));
    socket.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    asio::error_code ec;
    socket.bind({local.ip, local.port}, ec);
    if (ec) throw Exception(Errc::io, "binding " + local.to_string() + " to dial " + remote.to_string() + ": " + ec.message());
    auto path = co_await connect_socket(std::move(socket), remote, unanswered);
    co_return path;
}

std::shared_ptr<UdpPath> open_udp(asio::any_io_executor ex, Endpoint remote, std::optional<asio::ip::address> local_ip) {
    auto socket = std::make_shared<asio::ip::udp::socket>(ex);
    asio::ip::udp::endpoint target(remote.ip, remote.port);
    socket->open(target.protocol());
    socket->bind({local_ip ? *local_ip : (remote.ip.is_v6() ? asio::ip::address(asio::ip::address_v6::any())
                                                           : asio::ip::address(asio::ip::address_v4::any())),
                  0});
    // Connected, so the kernel reports an ICMP port unreachable as a refusal on this socket.
    socket->connect(target);
    auto path = std::make_shared<UdpPath>(std::move(socket), remote);
    path->own_socket();
    return path;
}

}  // namespace warpgate::session
