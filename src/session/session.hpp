// A session: the secure conversation a Link holds, independent of the path under it. It owns
// the keys and counters (crypto/secure_channel.hpp), the application's inbox and
// subscriptions (the Pipe it is), liveness (keepalives, dead-path detection) and its current
// path. Every record names the session by the receiver's id (session/record.hpp), so the
// demultiplexer finds it whatever address a datagram comes from; it is then authenticated,
// and an authenticated datagram from a new address moves the session there (NAT rebinding).
//
// Introduction (session/introduction.hpp) runs first: nothing the peer sends reaches the
// application until the session is established, i.e. the initiator's key confirmation (or
// any record sealed with the new keys) opened on the responder, and the responder's
// acknowledgement on the initiator.
//
// Path migration. A datagram session moves to the path of the newest authenticated record
// (NAT rebinding, the peer's move), or to a path the node found (migrate()); it leaves a relay
// for a direct path at once, and returns to a relay only when the direct path went quiet
// (path_quiet_after), keeping the path it left as a standby meanwhile. A stream session keeps
// every sealed record until the peer acknowledges it (ack, every 32 records or 256 KiB
// received, and on the liveness tick); migrate() opens the new stream with a join record,
// sealed out of band, that says which counter it expects next, and resends what the peer may
// have missed; the peer answers with what it owes in turn and drops the records it had, so
// the application loses and repeats nothing while the old stream dies.
#pragma once
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <warpgate/pipe.hpp>

#include "crypto/handshake.hpp"
#include "crypto/secure_channel.hpp"
#include "session/path.hpp"
#include "session/record.hpp"

namespace warpgate::session {

class Demux;

struct SessionSettings {
    std::chrono::milliseconds handshake_timeout{5000};    // introduction budget, both sides
    std::chrono::milliseconds keepalive_interval{25000};  // below common NAT UDP timeouts
    std::chrono::milliseconds dead_after{75000};          // no authenticated record: the link is dead
    std::chrono::milliseconds path_quiet_after{50000};    // a quiet path hands over to the standby
    std::chrono::milliseconds probe_timeout{1500};        // migrate(): the peer answers on the new path by then
};

class Session final : public Pipe {
public:
    enum class Role { initiator, responder };
    enum class State { introducing, established, closed };

    // A session with a fresh local id, registered with `demux` so that datagrams naming it
    // find it (null: a TCP-only session that nothing else needs to find).
    static std::shared_ptr<Session> create(asio::any_io_executor ex, PipeOptions options, SessionSettings settings,
                                           Role role, PathPtr path, std::shared_ptr<Demux> demux);
    Session(asio::any_io_executor ex, PipeOptions options, SessionSettings settings, Role role, PathPtr path,
            std::shared_ptr<Demux> demux);  // use create()
    ~Session() override;

    SessionId local_id() const noexcept { return local_id_; }
    SessionId remote_id() const noexcept { return remote_id_; }
    Role role() const noexcept { return role_; }
    State state() const noexcept { return state_; }
    const PathPtr& path() const noexcept { return path_; }
    const SessionSettings& settings() const noexcept { return settings_; }

    Transport transport() const override { return path_->transport(); }
    Endpoint local_endpoint() const override { return path_->local(); }
    Endpoint remote_endpoint() const override { return path_->remote(); }
    bool encrypted() const override { return channel_.has_value(); }
    std::string peer_node_id() const override { return channel_ ? channel_->peer_node_id() : std::string(); }
    bool relayed() const override { return path_->relayed(); }

    // --- receiving (the path's reader, the demultiplexer) ---
    // A record from one of this session's TCP streams (`via`: the current one, or the one it
    // is leaving or joining).
    asio::awaitable<bool> on_stream_record(StreamRecord& record, const Path* via);
    // A datagram naming this session, from `from` on `socket` (maybe not the current path).
    asio::awaitable<bool> on_datagram(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from);
    // A datagram record that came by a path of its own (a relay), maybe not the current one.
    asio::awaitable<bool> on_path_datagram(std::span<std::uint8_t> record, const PathPtr& via);
    // A path ended under the session (TCP EOF, reset): the session ends with its current path.
    void on_path_end(const Path* path, Error reason);

    // --- migration ---
    // Moves the link to `path` (same transport; a TCP path must be fresh, unread). Datagram
    // sessions: make before break, pings on `path` until the peer answers there (the peer
    // follows the first authenticated record, its answer moves this side); meanwhile records
    // keep to the current path. Several calls may probe at once: the first path answered
    // wins, the others end with Errc::cancelled. A path nothing answers on within
    // probe_timeout (Errc::timeout) or that fails to send is closed and the link stays where
    // it is. Plaintext datagram sessions move at once. Stream sessions (encrypted
    // only; the initiator moves, the responder follows): a join record, then every record the
    // peer has not acknowledged; the old stream is closed. Throws Exception when the session
    // cannot move (not established, plaintext, another transport) or the new path fails.
    asio::awaitable<void> migrate(PathPtr path);
    // Responder: a new TCP stream whose first record (`record`, sealed out of band) names this
    // session. True when it was the peer's authenticated join and the session moved there.
    asio::awaitable<bool> on_join(std::span<std::uint8_t> record, const std::shared_ptr<TcpPath>& path);
    const PathPtr& standby() const noexcept { return standby_; }
    std::size_t unacknowledged() const noexcept { return unacked_.size(); }

    // --- introduction (session/introduction.cpp) ---
    void set_remote(SessionId remote) noexcept { remote_id_ = remote; }
    void set_keys(const crypto::Keys& keys);
    asio::awaitable<void> send_control(Kind kind, ByteView body = {});
    // `record`, or a record's head and body sent gathered (Path::send_parts).
    asio::awaitable<void> send_raw(ByteView record, ByteView body = {});
    // Initiator: what the introduction has heard so far.
    struct Heard {
        std::optional<Reply> reply;
        std::optional<std::string> refused;
        bool acknowledged = false;
    };
    const Heard& heard() const noexcept { return heard_; }
    // Sleeps until the introduction hears something new (since the last wait; also the end of
    // the session) or `deadline`.
    asio::awaitable<void> wait_heard(std::chrono::steady_clock::time_point deadline);
    // Responder: the reply that answers the hello (sent again for a repeated hello), and who
    // is told once the initiator proved its keys.
    void await_confirmation(Bytes hello, Bytes reply, ConnectionId con_id,
                            std::function<void(const std::shared_ptr<Session>&, const ConnectionId&)> on_established);
    const Bytes& hello() const noexcept { return hello_; }
    const Bytes& reply() const noexcept { return reply_; }
    // Both sides: the introduction is over; keepalives and dead-path detection start.
    void establish();
    // Ends the session with `reason` (introduction failed or timed out).
    void abort_introduction(Error reason) { finish(std::move(reason)); }

protected:
    asio::awaitable<void> send_message(ByteView message) override;
    asio::awaitable<void> send_ping(ByteView nonce) override;
    void end_session() override;

private:
    // Where a record came from. Not from the current path: the path it came by, made only
    // when the session moves there (a datagram from a new 4-tuple costs nothing until it
    // authenticates).
    struct Arrival {
        bool current = true;
        const Path* stream = nullptr;  // the TCP stream it was read from
        PathPtr path;          // a relay path
        UdpSocketPtr socket;   // or a UDP 4-tuple
        Endpoint from;
    };
    // `record` whole (a datagram, a small stream record) or split (a large stream record).
    asio::awaitable<bool> handle(StreamRecord& record, const Arrival& arrival);
    // Datagram sessions: whether an authenticated newest record from `arrival` moves the link.
    void consider_move(const Arrival& arrival);
    PathPtr path_of(const Arrival& arrival);
    // Stream sessions: records the peer has not acknowledged, and acknowledging the peer's.
    void keep_unacked(const std::shared_ptr<const RecordBuffer>& record);
    void forget_acked(std::uint64_t next);
    asio::awaitable<void> acknowledge();
    // Moves a stream session to `path` and resends what the peer lacks (from `peer_next`).
    asio::awaitable<void> switch_stream(std::shared_ptr<TcpPath> path, std::optional<RecordBuffer> first, std::uint64_t peer_next);
    // Senders wait here while a stream switches paths, so records keep their counters' order.
    asio::awaitable<void> pass_gate();
    // `body` is the record's body, moved into the application's message when it is data.
    asio::awaitable<bool> on_inner(Kind kind, Message body);
    void hear(Kind kind);
    // Seals (or frames, for a plaintext session) kind + body into a record.
    RecordBuffer make_record(Kind kind, ByteView body, bool out_of_band = false);
    // Sends a sealed or plain record on the current path (a stream session keeps it).
    asio::awaitable<void> send_record(RecordBuffer record);
    // A record the session cannot use: dropped on UDP (noise, replays, forgeries must not end
    // a link), fatal on a TCP stream (which only the peer can write to).
    bool reject(const std::string& why);
    static asio::awaitable<void> liveness(std::weak_ptr<Session> weak);
    std::chrono::milliseconds liveness_tick() const;
    std::chrono::steady_clock::time_point next_liveness_due(std::chrono::milliseconds tick) const;
    void liveness_due_sooner();
    void adopt(PathPtr path);
    asio::awaitable<void> probe_and_move(PathPtr path);
    void wake_heard();

    SessionSettings settings_;
    Role role_;
    State state_ = State::introducing;
    PathPtr path_;
    std::weak_ptr<Demux> demux_;
    SessionId local_id_ = 0;
    SessionId remote_id_ = 0;
    std::optional<crypto::SecureChannel> channel_;
    std::uint64_t highest_counter_ = 0;  // datagram mode: only the newest record may move the session
    bool any_counter_ = false;
    PathPtr standby_;                    // datagram mode: the path left for this one (a relay)
    struct Probe {
        PathPtr path;
        asio::steady_timer* wake;  // migrate()'s, until the link moves
    };
    std::vector<Probe> probes_;          // datagram mode: the paths migrate() calls probe
    std::chrono::steady_clock::time_point last_received_current_;  // by the current path

    struct Unacked {
        std::uint64_t counter;
        std::shared_ptr<const RecordBuffer> record;
    };
    std::deque<Unacked> unacked_;       // stream mode, oldest first
    std::size_t unacked_bytes_ = 0;
    std::chrono::steady_clock::time_point ack_owed_since_;  // when received_since_ack_ left 0
    std::size_t received_since_ack_ = 0;        // records...
    std::size_t received_bytes_since_ack_ = 0;  // ...and bytes not acknowledged yet
    const Path* resuming_ = nullptr;    // a joined stream, until its first new record
    bool switching_ = false;
    asio::steady_timer gate_;

    Heard heard_;
    asio::steady_timer heard_wake_;
    std::uint64_t heard_events_ = 0;   // wake_heard() calls so far...
    std::uint64_t waited_events_ = 0;  // ...and how many of them a wait_heard() has seen
    Bytes hello_;
    Bytes reply_;
    ConnectionId con_id_{};
    std::function<void(const std::shared_ptr<Session>&, const ConnectionId&)> on_established_;

    std::chrono::steady_clock::time_point last_received_;
    std::chrono::steady_clock::time_point last_sent_;
    asio::steady_timer liveness_timer_;
    std::string close_note_;  // sent in the close record
};

// The reader's callbacks of `path` (a TCP stream) that feed `session`, which they hold weakly
// (the link's owner keeps it alive; a reader outliving it stops).
std::pair<StreamSink, EndSink> stream_callbacks(const std::shared_ptr<Session>& session, const Path* path);

}  // namespace warpgate::session
