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
#pragma once
#include <asio/steady_timer.hpp>
#include <chrono>
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

    // --- receiving (the path's reader, the demultiplexer) ---
    // A record from this session's TCP stream.
    asio::awaitable<bool> on_stream_record(std::span<std::uint8_t> record);
    // A datagram naming this session, from `from` on `socket` (maybe not the current path).
    asio::awaitable<bool> on_datagram(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from);
    // The path ended under the session (TCP EOF, reset): the session ends with it.
    void on_path_end(Error reason);

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
    // An authenticated or introduction record. `moved` is set when it came from another
    // 4-tuple than the current path (UDP), with the path to adopt if it authenticates.
    asio::awaitable<bool> handle(std::span<std::uint8_t> record, PathPtr moved);
    asio::awaitable<bool> on_inner(Kind kind, ByteView body);
    void hear(Kind kind);
    // Seals (or frames, for a plaintext session) kind + body into a record.
    RecordBuffer make_record(Kind kind, ByteView body);
    // A record the session cannot use: dropped on UDP (noise, replays, forgeries must not end
    // a link), fatal on a TCP stream (which only the peer can write to).
    bool reject(const std::string& why);
    static asio::awaitable<void> liveness(std::weak_ptr<Session> weak);
    void adopt(PathPtr path);
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

// The TCP reader's callbacks that feed `session`, which they hold weakly (the link's owner
// keeps it alive; a reader outliving it stops).
std::pair<RecordSink, EndSink> stream_callbacks(const std::shared_ptr<Session>& session);

}  // namespace warpgate::session
