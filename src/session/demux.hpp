// The demultiplexer: every UDP socket of a node (its listen sockets and the sockets it dials
// from) is read here, and each datagram goes by its first byte (RFC 7983): 0-3 to STUN,
// a hello to the acceptor (listen sockets only), a punch record to the hole punch its token
// names (listen sockets), any other warpgate record to the session its receiver id names,
// wherever the datagram came from (the session or the punch authenticates it). Nothing else is
// kept: an unknown id or token or a stray byte costs a counter, never state.
#pragma once
#include <asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>
#include <warpgate/endpoint.hpp>

#include "session/path.hpp"
#include "session/record.hpp"

namespace warpgate::session {

class Session;

SessionId random_session_id();

struct DemuxStats {
    std::uint64_t unknown_session = 0;  // a record for an id nobody holds
    std::uint64_t not_ours = 0;         // neither STUN nor a warpgate record
    std::uint64_t hello_elsewhere = 0;  // a hello on a socket that does not accept links
    std::uint64_t unknown_punch = 0;    // a punch record for a token no punch holds (or misshapen)
};

class Demux : public std::enable_shared_from_this<Demux> {
public:
    using HelloHandler = std::function<void(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from)>;
    using StunHandler = std::function<void(ByteView datagram, const UdpSocketPtr& socket, const Endpoint& from)>;
    using PathHelloHandler = std::function<void(std::span<std::uint8_t> record, const PathPtr& path)>;
    using PunchHandler = std::function<void(ByteView record, const UdpSocketPtr& socket, const Endpoint& from)>;

    // Session ids: reserved at construction, bound once the session is shared, removed by it.
    SessionId reserve();
    void bind(SessionId id, const std::shared_ptr<Session>& session);
    void remove(SessionId id);
    std::shared_ptr<Session> find(SessionId id) const;
    std::size_t sessions() const { return sessions_.size(); }

    void on_hello(HelloHandler handler) { hello_ = std::move(handler); }
    void on_stun(StunHandler handler) { stun_ = std::move(handler); }
    void on_path_hello(PathHelloHandler handler) { path_hello_ = std::move(handler); }
    // Punch records naming `token` go to `handler` until removed (a hole punch in progress).
    void add_punch(const PunchToken& token, PunchHandler handler) { punches_[token] = std::move(handler); }
    void remove_punch(const PunchToken& token) { punches_.erase(token); }
    std::size_t punches() const { return punches_.size(); }

    // Reads `socket` until it is closed. Hellos are taken only when `accepts_links`. A socket
    // dialled to one peer reports an ICMP port unreachable to `on_refused` (then stops).
    asio::awaitable<void> serve(UdpSocketPtr socket, bool accepts_links, std::function<void()> on_refused = nullptr);

    // Reads a path that reads itself (a relay: Path::read_datagrams) the same way: hellos to
    // the acceptor when `accepts_links`, every other record to the session its id names.
    void serve_path(const PathPtr& path, bool accepts_links);

    const DemuxStats& stats() const { return stats_; }

private:
    std::unordered_map<SessionId, std::weak_ptr<Session>> sessions_;
    std::map<PunchToken, PunchHandler> punches_;
    HelloHandler hello_;
    StunHandler stun_;
    PathHelloHandler path_hello_;
    DemuxStats stats_;
};

}  // namespace warpgate::session
