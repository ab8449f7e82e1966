#include "pnp_server.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "crypto/random.hpp"
#include "net/timeout.hpp"
#include "signal/signal_message.hpp"

namespace warpgate::pnpd {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

std::uint64_t now_ms() { return signal::to_unix_ms(signal::SystemClock::now()); }

std::string_view op_name(pnp::Op op) {
    if (op == pnp::Op::register_name) return "register";
    if (op == pnp::Op::lookup) return "lookup";
    return "delete";
}

}  // namespace

std::string Counters::describe() const {
    return fmt::format("{} requests, {} replies ({} retransmitted), {} dropped by rate limit, {} unopened, {} TCP connections",
                       requests, replies, retransmitted, rate_limited, unopened, tcp_connections);
}

const ReplayCache::Entry* ReplayCache::find(const pnp::RequestId& id, std::uint64_t now_ms) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return nullptr;
    return it->second.forget_at_ms > now_ms ? &it->second : nullptr;
}

void ReplayCache::add(const pnp::RequestId& id, Entry entry, std::uint64_t now_ms) {
    // Entries are added in time order and live about as long as each other, so the front is
    // (close to) the first to expire.
    while (!order_.empty() && (entries_.size() >= capacity_ || entries_.at(order_.front()).forget_at_ms <= now_ms)) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
    if (entries_.insert_or_assign(id, std::move(entry)).second) order_.push_back(id);
}

PnpServer::PnpServer(asio::any_io_executor executor, const PnpdConfig& config, crypto::IdentityKey key, NameStore& store)
    : executor_(executor),
      config_(config),
      key_(std::move(key)),
      registry_(store, config.limits),
      replies_(config.replay_cache_size),
      limiter_(config.per_source, config.total, net::RateClock::now()),
      udp_(executor),
      acceptor_(executor),
      purge_timer_(executor) {}

Result<void> PnpServer::listen() {
    asio::error_code ec;
    auto ip = asio::ip::make_address(config_.listen.host, ec);
    if (ec) return fail(Errc::config, fmt::format("listen address '{}' is not an IP address", config_.listen.host));
    auto failed = [&](std::string_view what) {
        auto code = ec == asio::error::address_in_use ? Errc::address_in_use : Errc::io;
        return fail(code, fmt::format("{} {}:{}: {}", what, ip.to_string(), config_.listen.port, ec.message()));
    };
    udp_.open(ip.is_v6() ? udp::v6() : udp::v4(), ec);
    if (!ec) udp_.bind({ip, config_.listen.port}, ec);
    if (ec) return failed("UDP bind");
    auto port = udp_.local_endpoint().port();  // port 0: TCP takes the one UDP got
    acceptor_.open(ip.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind({ip, port}, ec);
    if (!ec) acceptor_.listen(128, ec);
    if (ec) return failed("TCP listen");
    return {};
}

Endpoint PnpServer::local_endpoint() const {
    auto e = udp_.local_endpoint();
    return Endpoint{e.address(), e.port()};
}

asio::awaitable<void> PnpServer::run() {
    using namespace asio::experimental::awaitable_operators;
    co_await (serve_udp() && serve_tcp() && purge_loop());
}

void PnpServer::stop() {
    if (stopped_) return;
    stopped_ = true;
    asio::error_code ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
    purge_timer_.cancel();
    for (auto* socket : connections_) socket->close(ignored);
}

Bytes PnpServer::reply_bytes(const pnp::Reply& reply, const crypto::AeadKey& key) {
    crypto::AeadNonce nonce{};
    crypto::random_bytes(nonce);
    return pnp::seal_reply(reply, key, nonce);
}

std::optional<Bytes> PnpServer::handle(ByteView sealed, const asio::ip::address& source) {
    ++counters_.requests;
    auto source_text = source.is_v6() && source.to_v6().is_v4_mapped() ? asio::ip::make_address_v4(asio::ip::v4_mapped, source.to_v6()).to_string() : source.to_string();
    if (limiter_.admit(source_text, net::RateClock::now()) != net::KeyedRateLimit<std::string>::Verdict::admitted) {
        ++counters_.rate_limited;
        return std::nullopt;
    }
    auto plaintext = pnp::open_request(key_, sealed);
    auto route = plaintext ? pnp::reply_route(*plaintext) : std::nullopt;
    if (!route) {
        ++counters_.unopened;
        spdlog::debug("{}: request dropped unanswered: {}", source_text, plaintext ? "no reply key" : plaintext.error().message);
        return std::nullopt;
    }
    auto [id, reply_key] = *route;
    auto now = now_ms();
    auto digest = crypto::sha256(*plaintext);
    if (auto* cached = replies_.find(id, now)) {
        ++counters_.replies;
        if (cached->request == digest) {
            ++counters_.retransmitted;
            return cached->reply;
        }
        pnp::Reply replayed{id, pnp::Status::replayed, 0, {}, {}, "this request id was used by another request"};
        spdlog::info("{}: replayed request id with different content", source_text);
        return reply_bytes(replayed, reply_key);
    }
    auto request = pnp::decode_request(*plaintext, key_.public_key());
    pnp::Reply reply;
    if (!request) {
        reply.id = id;
        reply.status = request.error().code == Errc::auth_failed ? pnp::Status::bad_signature : pnp::Status::malformed;
        reply.detail = request.error().message;
        spdlog::info("{}: refused: {}", source_text, reply.detail);
        ++counters_.replies;
        return reply_bytes(reply, reply_key);
    }
    reply = registry_.apply(*request, source_text, now);
    spdlog::log(reply.status == pnp::Status::ok ? spdlog::level::debug : spdlog::level::info, "{}: {} '{}': {}{}{}", source_text,
                op_name(request->op), request->name, pnp::status_name(reply.status), reply.detail.empty() ? "" : ": ", reply.detail);
    auto bytes = reply_bytes(reply, reply_key);
    auto horizon = request->timestamp_ms + std::uint64_t{request->lifetime_s} * 1000 + config_.limits.clock_skew_ms;
    replies_.add(id, {digest, bytes, horizon}, now);
    ++counters_.replies;
    return bytes;
}

asio::awaitable<void> PnpServer::serve_udp() {
    std::array<std::uint8_t, pnp::max_message_size + 1> buffer;  // one more: an oversized datagram shows as such
    for (;;) {
        udp::endpoint from;
        auto [ec, size] = co_await udp_.async_receive_from(asio::buffer(buffer), from, as_tuple_awaitable);
        if (stopped_) co_return;
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            continue;  // ICMP residue of an earlier reply: not the end of the socket
        }
        if (size > pnp::max_message_size) continue;
        auto reply = handle(ByteView(buffer.data(), size), from.address());
        if (!reply) continue;
        auto [send_ec, sent] = co_await udp_.async_send_to(asio::buffer(*reply), from, as_tuple_awaitable);
        if (send_ec) spdlog::debug("reply to {}: {}", from.address().to_string(), send_ec.message());
    }
}

asio::awaitable<void> PnpServer::serve_tcp() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(as_tuple_awaitable);
        if (stopped_ || ec == asio::error::operation_aborted) co_return;
        if (ec) continue;
        if (connections_.size() >= config_.max_tcp_connections) continue;  // closed as `socket` leaves
        ++counters_.tcp_connections;
        asio::co_spawn(executor_, serve_connection(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> PnpServer::serve_connection(tcp::socket socket) {
    connections_.insert(&socket);
    asio::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec).address();
    std::array<std::uint8_t, pnp::frame_header_size> header;
    Bytes body;
    try {
        while (!stopped_) {
            co_await net::with_timeout(asio::async_read(socket, asio::buffer(header), asio::use_awaitable), config_.tcp_idle_timeout,
                                       "PNP TCP idle connection");
            auto length = pnp::frame_length(header);
            if (!length) break;  // not PNP framing: nothing after it can be trusted to line up
            body.resize(*length);
            co_await net::with_timeout(asio::async_read(socket, asio::buffer(body), asio::use_awaitable), config_.tcp_idle_timeout,
                                       "PNP TCP request");
            auto reply = handle(body, peer);
            if (!reply) continue;
            auto framed = pnp::frame(*reply);
            co_await net::with_timeout(asio::async_write(socket, asio::buffer(framed), asio::use_awaitable), config_.tcp_idle_timeout,
                                       "PNP TCP reply");
        }
    } catch (const std::exception& e) {
        spdlog::debug("PNP TCP connection from {} ends: {}", peer.to_string(), e.what());
    }
    connections_.erase(&socket);
}

asio::awaitable<void> PnpServer::purge_loop() {
    while (!stopped_) {
        purge_timer_.expires_after(config_.purge_interval);
        auto [ec] = co_await purge_timer_.async_wait(as_tuple_awaitable);
        if (ec || stopped_) co_return;
        auto purged = registry_.store().purge_expired(now_ms());
        if (!purged) spdlog::error("purge: {}", purged.error().message);
        else if (*purged > 0) spdlog::info("purged {} expired names", *purged);
    }
}

}  // namespace warpgate::pnpd
