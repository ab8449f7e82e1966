#include "proto/stun_port.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include "log.hpp"

namespace warpgate::stun {

namespace {

constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
// Answers per transaction that may wait unread (retransmissions draw duplicate answers).
constexpr std::size_t queue_depth = 8;

// RFC 8489 section 5: the first two bits are zero, the magic cookie at bytes 4..7, the
// transaction id at 8..19.
std::optional<TransactionId> transaction_id_of(ByteView datagram) {
    if (datagram.size() < header_size || (datagram[0] & 0xc0) != 0) return std::nullopt;
    const std::uint32_t cookie = std::uint32_t{datagram[4]} << 24 | std::uint32_t{datagram[5]} << 16 |
                                 std::uint32_t{datagram[6]} << 8 | datagram[7];
    if (cookie != magic_cookie) return std::nullopt;
    TransactionId id;
    std::copy(datagram.begin() + 8, datagram.begin() + 20, id.begin());
    return id;
}

}  // namespace

StunTransactions::Registration::Registration(StunTransactions& owner, const TransactionId& id, asio::any_io_executor executor)
    : owner_(owner), id_(id), queue_(executor, queue_depth) {
    owner_.waiters_[id_] = &queue_;
}

StunTransactions::Registration::~Registration() { owner_.waiters_.erase(id_); }

bool StunTransactions::on_datagram(ByteView datagram, const Endpoint& from) {
    auto id = transaction_id_of(datagram);
    if (!id) {
        ++dropped_.not_stun;
        log::debug("stun: dropping a datagram from {}: not a STUN message", from.to_string());
        return false;
    }
    auto it = waiters_.find(*id);
    if (it == waiters_.end() || !it->second->try_send(asio::error_code{}, Datagram{Bytes(datagram.begin(), datagram.end()), from})) {
        ++dropped_.unmatched;
        log::debug("stun: dropping a datagram from {} for no pending transaction", from.to_string());
        return false;
    }
    return true;
}

struct OwnedUdpStunPort::Shared {
    explicit Shared(asio::any_io_executor executor) : socket(executor) {}
    asio::ip::udp::socket socket;
    StunPort* port = nullptr;  // cleared when the port goes away
};

Result<std::unique_ptr<OwnedUdpStunPort>> OwnedUdpStunPort::open(asio::any_io_executor executor, Endpoint local) {
    auto shared = std::make_shared<Shared>(executor);
    asio::error_code ec;
    shared->socket.open(local.ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) shared->socket.bind({local.ip, local.port}, ec);
    if (ec) return fail(Errc::io, fmt::format("cannot bind UDP {}: {}", local.to_string(), ec.message()));
    std::unique_ptr<OwnedUdpStunPort> port(new OwnedUdpStunPort(shared));
    shared->port = port.get();
    asio::co_spawn(executor, receive_loop(shared), asio::detached);
    return port;
}

OwnedUdpStunPort::OwnedUdpStunPort(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {
    auto e = shared_->socket.local_endpoint();
    local_ = {e.address(), e.port()};
}

OwnedUdpStunPort::~OwnedUdpStunPort() {
    shared_->port = nullptr;
    asio::error_code ignored;
    shared_->socket.close(ignored);
}

asio::any_io_executor OwnedUdpStunPort::executor() const { return shared_->socket.get_executor(); }

asio::awaitable<Result<void>> OwnedUdpStunPort::send_to(ByteView datagram, Endpoint to) {
    auto shared = shared_;
    auto [ec, sent] = co_await shared->socket.async_send_to(asio::buffer(datagram.data(), datagram.size()),
                                                            asio::ip::udp::endpoint(to.ip, to.port), as_tuple_awaitable);
    if (ec == asio::error::operation_aborted) co_return fail(Errc::cancelled, fmt::format("UDP send to {}: cancelled", to.to_string()));
    if (ec) co_return fail(Errc::io, fmt::format("UDP send to {}: {}", to.to_string(), ec.message()));
    co_return Result<void>{};
}

asio::awaitable<void> OwnedUdpStunPort::receive_loop(std::shared_ptr<Shared> shared) {
    // Large enough for any response a Binding request can draw; a longer datagram is cut,
    // fails to decode and is ignored by its transaction.
    std::array<std::uint8_t, 2048> buffer;
    while (shared->socket.is_open()) {
        asio::ip::udp::endpoint from;
        auto [ec, size] = co_await shared->socket.async_receive_from(asio::buffer(buffer), from, as_tuple_awaitable);
        if (!shared->port || !shared->socket.is_open() || ec == asio::error::operation_aborted) co_return;
        // Other errors (an ICMP error reported on the socket) concern one datagram, not the socket.
        if (ec) continue;
        shared->port->on_datagram(ByteView(buffer.data(), size), Endpoint{from.address(), from.port()});
    }
}

}  // namespace warpgate::stun
