#include "proto/pnp_client.hpp"

#include <array>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include "log.hpp"

#include "crypto/random.hpp"
#include "net/resolve.hpp"
#include "net/timeout.hpp"
#include "signal/signal_message.hpp"

namespace warpgate::pnp {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds left(Steady::time_point deadline) {
    return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Steady::now()));
}

Error io_error(const std::system_error& e, const std::string& what) {
    if (auto* ours = dynamic_cast<const Exception*>(&e)) return ours->error();
    if (e.code() == asio::error::connection_refused) return {Errc::refused, what + ": nothing listens there"};
    return {Errc::io, what + ": " + e.code().message()};
}

// Over UDP: the same datagram every RTO (doubling; the server answers a retransmission with
// the reply it already sent) until a reply to it opens or the deadline passes.
asio::awaitable<Result<Reply>> exchange_udp(asio::any_io_executor executor, const Endpoint& endpoint, ByteView sealed,
                                            const Request& request, const ClientOptions& options, Steady::time_point deadline,
                                            const std::string& what) {
    asio::ip::udp::socket socket(executor);
    socket.open(endpoint.ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4());
    socket.connect({endpoint.ip, endpoint.port});  // a closed port then shows as connection refused
    std::array<std::uint8_t, max_message_size + 1> buffer;
    auto rto = options.rto;
    std::string ignored;
    for (int sends = 0; sends < options.max_sends && Steady::now() < deadline; ++sends) {
        co_await socket.async_send(asio::buffer(sealed.data(), sealed.size()), asio::use_awaitable);
        auto resend_at = std::min(deadline, Steady::now() + rto);
        rto *= 2;
        while (Steady::now() < resend_at) {
            std::size_t size = 0;
            try {
                size = co_await net::with_timeout(socket.async_receive(asio::buffer(buffer), asio::use_awaitable), left(resend_at), what);
            } catch (const Exception& e) {
                if (e.errc() != Errc::timeout) throw;
                break;
            }
            auto id = reply_id(ByteView(buffer.data(), size));
            if (!id || *id != request.id) continue;  // a late reply to an earlier request
            auto reply = open_reply(ByteView(buffer.data(), size), request.reply_key);
            if (reply) co_return reply;
            ignored = reply.error().message;
        }
    }
    co_return fail(Errc::timeout, fmt::format("{}: no reply{}", what, ignored.empty() ? "" : " that opened (" + ignored + ")"));
}

// Over TCP: one frame each way.
asio::awaitable<Result<Reply>> exchange_tcp(asio::any_io_executor executor, const Endpoint& endpoint, ByteView sealed,
                                            const Request& request, Steady::time_point deadline, const std::string& what) {
    asio::ip::tcp::socket socket(executor);
    co_await net::with_timeout(socket.async_connect({endpoint.ip, endpoint.port}, asio::use_awaitable), left(deadline), what + " connect");
    auto framed = frame(sealed);
    co_await net::with_timeout(asio::async_write(socket, asio::buffer(framed), asio::use_awaitable), left(deadline), what);
    std::array<std::uint8_t, frame_header_size> header;
    co_await net::with_timeout(asio::async_read(socket, asio::buffer(header), asio::use_awaitable), left(deadline), what);
    auto length = frame_length(header);
    if (!length) co_return tl::unexpected(length.error());
    Bytes body(*length);
    co_await net::with_timeout(asio::async_read(socket, asio::buffer(body), asio::use_awaitable), left(deadline), what);
    auto id = reply_id(body);
    if (!id || *id != request.id) co_return fail(Errc::malformed, what + ": the reply answers another request");
    co_return open_reply(body, request.reply_key);
}

}  // namespace

Request make_request(Op op, const crypto::IdentityKey& owner, std::string name, Bytes value, const ClientOptions& options) {
    Request q;
    crypto::random_bytes(q.id);
    crypto::random_bytes(q.reply_key);
    q.op = op;
    q.owner = owner.public_key();
    q.timestamp_ms = signal::to_unix_ms(options.clock());
    q.lifetime_s = options.lifetime_s;
    q.name = std::move(name);
    q.value = std::move(value);
    return q;
}

asio::awaitable<Result<Reply>> exchange(asio::any_io_executor executor, const NicknameServer& server, const Request& request,
                                        const crypto::IdentityKey& signer, const ClientOptions& options) {
    auto deadline = Steady::now() + options.timeout;
    auto what = fmt::format("nickname server {} ({})", server.server.to_string(), options.tcp ? "tcp" : "udp");
    auto sealed = seal_request(request, server.public_key, signer);
    if (!sealed) co_return fail(Errc::config, what + ": " + sealed.error().message);
    auto endpoints = co_await net::resolve(executor, server.server, std::nullopt, options.timeout);
    if (!endpoints) co_return tl::unexpected(endpoints.error());
    try {
        if (options.tcp) {
            auto reply = co_await exchange_tcp(executor, endpoints->front(), *sealed, request, deadline, what);
            co_return reply;
        }
        auto reply = co_await exchange_udp(executor, endpoints->front(), *sealed, request, options, deadline, what);
        co_return reply;
    } catch (const std::system_error& e) {
        co_return tl::unexpected(io_error(e, what));
    }
}

Error refusal_error(const Reply& reply, std::string_view server, std::string_view name) {
    auto code = reply.status == Status::not_found ? Errc::unreachable : Errc::refused;
    auto who = server.empty() ? std::string("the nickname server") : fmt::format("nickname server {}", server);
    return {code, fmt::format("{} refused '{}': {} ({})", who, name, status_name(reply.status), reply.detail)};
}

asio::awaitable<Result<std::string>> resolve(asio::any_io_executor executor, std::vector<NicknameServer> servers, std::string_view name) {
    Client client(executor, std::move(servers), crypto::IdentityKey::generate());
    auto reply = co_await client.lookup(name);
    if (!reply) co_return tl::unexpected(reply.error());
    if (reply->status != Status::ok) co_return tl::unexpected(refusal_error(*reply, "", name));
    co_return std::string(as_chars(reply->value));
}

Client::Client(asio::any_io_executor executor, std::vector<NicknameServer> servers, crypto::IdentityKey key, ClientOptions options)
    : executor_(executor), servers_(std::move(servers)), key_(std::move(key)), options_(std::move(options)) {}

std::string Client::tld() const {
    std::vector<Bytes> keys;
    for (auto& s : servers_) keys.push_back(s.public_key);
    return pnp::tld(std::move(keys));
}

Result<std::string> Client::bare_name(std::string_view name) const { return strip_tld(name, tld()); }

asio::awaitable<Result<Reply>> Client::on_each(Op op, std::string_view full_name, ByteView value, bool first_ok_wins) {
    if (servers_.empty())
        co_return fail(Errc::config, "no nickname server configured: run warpgate-pnpd (docs/pnp.md) and name it in "
                                     "nickname_servers as HOST:PORT=PUBKEY (or --pnp under --test)");
    auto name = bare_name(full_name);
    if (!name) co_return tl::unexpected(name.error());
    std::optional<Reply> accepted;
    std::optional<Reply> refused;
    std::string reasons;
    for (auto& server : servers_) {
        auto request = make_request(op, key_, *name, Bytes(value.begin(), value.end()), options_);
        auto reply = co_await exchange(executor_, server, request, key_, options_);
        if (reply && reply->status == Status::ok) {
            if (!accepted) accepted = *reply;
            if (first_ok_wins) break;
            continue;
        }
        auto reason = reply ? refusal_error(*reply, server.server.to_string(), *name).message : reply.error().message;
        log::debug("pnp: {}", reason);
        reasons += (reasons.empty() ? "" : "; ") + reason;
        if (reply && (!refused || refused->status == Status::not_found)) refused = *reply;
    }
    if (accepted) co_return *accepted;
    if (refused && refused->status == Status::not_found && op == Op::lookup) co_return *refused;
    if (refused) co_return *refused;
    co_return fail(Errc::unreachable, "no nickname server answered: " + reasons);
}

asio::awaitable<Result<Reply>> Client::register_name(std::string_view name, ByteView value) {
    auto r = co_await on_each(Op::register_name, name, value, false);
    co_return r;
}

asio::awaitable<Result<Reply>> Client::lookup(std::string_view name) {
    auto r = co_await on_each(Op::lookup, name, {}, true);
    co_return r;
}

asio::awaitable<Result<Reply>> Client::remove(std::string_view name) {
    auto r = co_await on_each(Op::remove, name, {}, false);
    co_return r;
}

}  // namespace warpgate::pnp
