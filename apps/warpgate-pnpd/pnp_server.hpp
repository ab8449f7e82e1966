// warpgate-pnpd's network side: PNP over UDP (one datagram each way) and TCP (length-prefixed
// frames, several requests per connection) on one port, one thread. A request is rate-limited
// by source address before it is opened (opening costs an ECDH, and a reply needs the opened
// reply key, so an over-limit request is dropped unanswered); a retransmitted request gets
// the reply already sent, another request reusing its id gets `replayed`.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include <warpgate/endpoint.hpp>

#include "crypto/digest.hpp"
#include "crypto/identity.hpp"
#include "net/rate_limit.hpp"
#include "pnpd_config.hpp"
#include "registry.hpp"

namespace warpgate::pnpd {

struct Counters {
    std::uint64_t requests = 0, replies = 0, rate_limited = 0, unopened = 0, retransmitted = 0, tcp_connections = 0;
    std::string describe() const;
};

// Replies by request id, kept until their request is stale anyway (timestamp + lifetime +
// skew), at most `capacity`; when full the oldest is forgotten (a replay of it can then only
// be stale: the store refuses changes not newer than the last).
class ReplayCache {
public:
    explicit ReplayCache(std::size_t capacity) : capacity_(capacity) {}
    struct Entry {
        crypto::Sha256Digest request;  // digest of the opened plaintext
        Bytes reply;
        std::uint64_t forget_at_ms = 0;
    };
    const Entry* find(const pnp::RequestId& id, std::uint64_t now_ms);
    void add(const pnp::RequestId& id, Entry entry, std::uint64_t now_ms);

private:
    std::size_t capacity_;
    std::map<pnp::RequestId, Entry> entries_;
    std::deque<pnp::RequestId> order_;
};

class PnpServer {
public:
    PnpServer(asio::any_io_executor executor, const PnpdConfig& config, crypto::IdentityKey key, NameStore& store);
    // Binds UDP and TCP; Errc::address_in_use / io.
    Result<void> listen();
    Endpoint local_endpoint() const;
    // Serves until stop(); every task ends then.
    asio::awaitable<void> run();
    void stop();
    // One request datagram or frame from `source`: the reply, or nullopt when none is sent.
    std::optional<Bytes> handle(ByteView sealed, const asio::ip::address& source);
    const Counters& counters() const { return counters_; }

private:
    asio::awaitable<void> serve_udp();
    asio::awaitable<void> serve_tcp();
    asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket);
    asio::awaitable<void> purge_loop();
    Bytes reply_bytes(const pnp::Reply& reply, const crypto::AeadKey& key);

    asio::any_io_executor executor_;
    const PnpdConfig& config_;
    crypto::IdentityKey key_;
    Registry registry_;
    ReplayCache replies_;
    net::KeyedRateLimit<std::string> limiter_;
    asio::ip::udp::socket udp_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer purge_timer_;
    std::set<asio::ip::tcp::socket*> connections_;
    bool stopped_ = false;
    Counters counters_;
};

}  // namespace warpgate::pnpd
