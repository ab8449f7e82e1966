// The accepting side of introductions, hardened for a port that strangers probe: everything an
// unauthenticated peer can make the node hold is bounded in size, time and count.
//  - A TCP connection must deliver a valid hello within the handshake budget, in records of at
//    most 1 KiB (session/record.hpp max_introduction_record); at most `max_pending_tcp` such
//    connections at once (when full, the oldest of the address holding the most is closed),
//    `max_pending_tcp_per_ip` from one address.
//  - A hello makes a half-open session (one ECDH + signature): at most `max_half_open`, and
//    `max_half_open_per_ip` from one address; each expires when its initiator does not prove
//    its keys within the budget; when the table is full the oldest half-open one is evicted.
//    Established sessions live elsewhere (the demultiplexer's table): unauthenticated traffic
//    can never push one out.
//  - Refusals are answered with a short reason (on UDP in a record no larger than the hello,
//    or 32 bytes for the smallest hellos: no amplification worth the name), counted, and
//    logged at info level at most once per reason per 10 s.
#pragma once
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <list>
#include <tuple>
#include <functional>
#include <map>
#include <memory>

#include "crypto/identity.hpp"
#include "net/refusals.hpp"
#include "session/demux.hpp"
#include "session/session.hpp"

namespace warpgate::session {

struct AcceptorOptions {
    const crypto::IdentityKey* identity = nullptr;  // needed to accept secure links
    bool require_encryption = true;
    PipeOptions pipe;
    SessionSettings session;
    std::size_t max_half_open = 1024;
    std::size_t max_half_open_per_ip = 32;
    std::size_t max_pending_tcp = 512;
    std::size_t max_pending_tcp_per_ip = 16;
};

class Acceptor : public std::enable_shared_from_this<Acceptor> {
public:
    using Established = std::function<void(const std::shared_ptr<Session>&, const ConnectionId&)>;

    Acceptor(asio::any_io_executor ex, AcceptorOptions options, std::shared_ptr<Demux> demux);
    // Takes the demultiplexer's hellos and starts the expiry sweep.
    void start(Established on_established);
    // Closes every half-open session and pending connection; nothing more is accepted.
    void close();

    // A new TCP connection from the listener.
    void accept_tcp(asio::ip::tcp::socket socket);
    // A connected stream this node holds, served as if the listener had accepted it (our end
    // of a TCP simultaneous open: the peer sends the hello). Same limits as accept_tcp.
    void accept_tcp(std::shared_ptr<TcpPath> path);

    // Until release_tcp(remote), a connection the listener accepts from exactly `remote` goes
    // to `to` instead of waiting for a hello: the peer's half of a simultaneous open that
    // reached our listener first, which this node introduces on itself. A connection from
    // `remote` accepted already and still without a hello goes to `to` at once.
    using TcpClaim = std::function<void(std::shared_ptr<TcpPath>)>;
    void claim_tcp(const Endpoint& remote, TcpClaim to);
    void release_tcp(const Endpoint& remote);

    std::size_t half_open() const { return half_open_.size(); }
    std::size_t pending_tcp() const { return pending_.size(); }
    const net::RefusalLog& refusals() const { return refusals_; }

private:
    struct HalfOpen {
        std::shared_ptr<Session> session;
        std::chrono::steady_clock::time_point deadline;
        Endpoint from;
        SessionId initiator = 0;
    };
    using HalfOpenList = std::list<HalfOpen>;
    // The initiator's address, port and session id: a repeated hello finds its answer by it.
    using Source = std::tuple<asio::ip::address, std::uint16_t, SessionId>;
    struct Pending {
        std::weak_ptr<TcpPath> path;
        std::chrono::steady_clock::time_point deadline;
        asio::ip::address ip;
    };

    void on_udp_hello(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from);
    // A repeated hello (the initiator's retransmission) gets the same answer, no new session.
    bool answered_again(std::span<std::uint8_t> record, const Endpoint& from);
    // A hello that came by a path reading itself (a relay; Demux::serve_path).
    void on_path_hello(std::span<std::uint8_t> record, const PathPtr& path);
    asio::awaitable<bool> on_tcp_record(std::span<std::uint8_t> record, const std::shared_ptr<TcpPath>& path);
    // Answers a valid hello with a half-open session, or refuses it (nullptr).
    std::shared_ptr<Session> introduce(std::span<std::uint8_t> record, const PathPtr& path);
    void refuse(Path& path, SessionId initiator, std::string_view reason, std::size_t hello_size);
    void established(const std::shared_ptr<Session>& session, const ConnectionId& con_id);
    void drop_pending(const TcpPath* path);
    // The oldest pending connection of the address with the most (pending_ not empty).
    std::deque<Pending>::iterator crowdest_pending();
    std::size_t count_from(const asio::ip::address& ip) const;
    void add_half_open(HalfOpen entry);
    HalfOpen take_half_open(HalfOpenList::iterator entry);
    static asio::awaitable<void> sweep(std::weak_ptr<Acceptor> weak);

    asio::any_io_executor executor_;
    AcceptorOptions options_;
    std::shared_ptr<Demux> demux_;
    Established on_established_;
    // Half-open sessions, oldest first (one budget for all, so also in deadline order), and
    // indexes so that no hello costs a scan of the table.
    HalfOpenList half_open_;
    std::map<Source, HalfOpenList::iterator> half_open_by_source_;
    std::map<const Session*, HalfOpenList::iterator> half_open_by_session_;
    std::map<asio::ip::address, std::size_t> half_open_per_ip_;
    std::deque<Pending> pending_;
    std::vector<std::pair<Endpoint, TcpClaim>> claims_;
    asio::steady_timer sweep_timer_;
    net::RefusalLog refusals_{"listener"};
    bool closed_ = false;
};

}  // namespace warpgate::session
