// Traversal plugins: each turns a peer's address into pipes by one strategy. auto_connect
// asks every plugin for its attempts and races them, phase by phase.
#pragma once
#include <asio/awaitable.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <functional>
#include <warpgate/address.hpp>
#include <warpgate/clock.hpp>
#include <warpgate/config.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/pipe.hpp>

namespace warpgate {

class Node;

// Phases run in this order; strategies of one phase race each other. The original stopped
// racing every phase at once: it tripped half-open SYN limits, router flow caps (~256 flows)
// and port-scan heuristics.
enum class Phase : std::uint8_t { direct = 1, punch = 2, spray = 3, relay = 4 };
const char* to_string(Phase p) noexcept;

// Which way a packet goes to reach the peer.
enum class Route : std::uint8_t { loopback = 1, lan = 2, external = 3 };
const char* to_string(Route r) noexcept;

using ConnectionId = std::array<std::uint8_t, 16>;

// One concrete try: a plugin, a family, a route and (for dialing plugins) a target.
struct Attempt {
    std::string plugin;
    Transport transport = TCP;
    Family family = IP4;
    Route route = Route::external;
    Endpoint target;
    ConnectionId con_id{};  // in the hello, so both sides can match the link (CON_ID_MSG)
    std::string describe() const;  // "direct_connect TCP IPv4 loopback 127.0.0.1:4000"
};

namespace session {
class Path;
}
// A raw path a plugin reached the peer by (a dialled TCP stream, a UDP 4-tuple): made by the
// context's socket factory, introduced and secured by the node, never by the plugin.
using PathPtr = std::shared_ptr<session::Path>;

// What an attempt produced: a raw path (the node runs the introduction and the link handshake
// on it), or a pipe the peer introduced by dialling us (reverse connect; the node checks it
// belongs to the peer).
struct Reached {
    PathPtr path;
    PipePtr pipe;
};

// A signal message for a plugin, from a verified sender.
struct PluginSignal {
    Bytes sender;   // the sender's public key (verified)
    Bytes payload;
};

// All a plugin sees of the node: no identity key, no node internals.
class PluginContext {
public:
    virtual ~PluginContext() = default;
    virtual asio::any_io_executor executor() const = 0;
    virtual const NodeConfig& config() const = 0;
    // The node's own address, with the NAT facts of each listen socket.
    virtual const NodeAddress& own_address() const = 0;
    virtual const Bytes& own_address_bytes() const = 0;
    virtual std::vector<Family> supported() const = 0;
    // Corrected wall time and its uncertainty (punches agree on an instant with it).
    virtual ClockReading clock() const = 0;

    // Socket factory: a fresh path to `target` (TCP: connected within connect_timeout;
    // Errc::refused at once when nothing listens).
    virtual asio::awaitable<PathPtr> dial(Transport transport, Endpoint target) = 0;
    // The same from the node's listen port, whose NAT mapping the address advertises (hole
    // punching): TCP from a socket bound to the listen ip:port with address and port reuse;
    // UDP over the listen socket itself. Errc::unreachable when no listen socket has
    // target's family. TCP: a connect that no SYN of the peer reached within `unanswered`
    // ends with Errc::timeout; one that met the peer's SYN (a simultaneous open half done)
    // goes on until connect_timeout.
    virtual asio::awaitable<PathPtr> dial_from_listen_port(Transport transport, Endpoint target,
                                                           std::chrono::milliseconds unanswered = std::chrono::milliseconds::max()) = 0;

    // Signaling under this plugin's own message tag (false: signaling is off).
    virtual bool has_signaling() const = 0;
    virtual asio::awaitable<void> signal(const NodeAddress& peer, ByteView payload) = 0;
    virtual void on_signal(std::function<void(PluginSignal)> handler) = 0;

    // A link the peer will open to us with `con_id` (it learns the id from our signal):
    // registered from now until the handle is destroyed, so make it before signalling.
    class Expectation {
    public:
        virtual ~Expectation() = default;
        // The introduced pipe; Errc::timeout after `timeout`, Errc::cancelled.
        virtual asio::awaitable<PipePtr> wait(std::chrono::milliseconds timeout) = 0;
    };
    virtual std::unique_ptr<Expectation> expect(ConnectionId con_id) = 0;

    // UDP hole punching on the listen sockets: punch records (session record 0xD6) naming
    // `token` that arrive there go to `on_record` while the returned tap lives; the
    // demultiplexer drops those of other tokens. The tap sends from the listen socket of the
    // target's family (best effort, never waits; false when there is none).
    using PunchToken = std::array<std::uint8_t, 8>;
    class PunchTap {
    public:
        virtual ~PunchTap() = default;
        virtual bool send(const Endpoint& to, ByteView datagram) = 0;
    };
    virtual std::unique_ptr<PunchTap> tap_punch(PunchToken token, std::function<void(ByteView record, const Endpoint& from)> on_record) = 0;
    // Callee side: introduces a path we dialled to a peer that asked for it (reverse connect)
    // and hands the link to whoever waits for `con_id` on our side, else to the inbound handler.
    virtual asio::awaitable<void> dial_back(PathPtr path, const NodeAddress& peer, ConnectionId con_id) = 0;
    // Responder side of a path both ends opened at once (our end of a TCP simultaneous open):
    // the peer introduces on it, so the node serves it as its listener serves an accepted
    // connection (same limits; the link goes to whoever waits for its connection id, else to
    // the inbound handler). TCP paths only; a UDP path on the listen socket needs nothing (its
    // hello arrives through the listener's demultiplexer); a relay's path (TURN) is read and
    // its hello goes to the listener's acceptor. Errc::unsupported otherwise.
    virtual void accept_path(PathPtr path) = 0;
    // Initiator side of a simultaneous open: until the handle is destroyed, a TCP connection
    // the node's listener accepts from exactly `remote` goes to `sink` (as a raw path, which
    // the node then introduces like a dialled one) instead of waiting there for a hello. The
    // peer's SYN lands on our listener when it arrives before our own connect exists, or
    // while an old connection's TIME_WAIT holds the 4-tuple (our connect then fails with
    // Errc::address_in_use). One the listener accepted before the claim, and that sent no
    // hello yet, goes to `sink` at once.
    class InboundClaim {
    public:
        virtual ~InboundClaim() = default;
    };
    virtual std::unique_ptr<InboundClaim> claim_inbound(Endpoint remote, std::function<void(PathPtr)> sink) = 0;
    // The external endpoint of a NAT mapping made now, from a fresh socket (any port) of the
    // family, against the configured STUN servers in order: what a NAT that allocates a port
    // per flow hands out next is predicted from it (traversal/port_prediction.hpp). TCP is
    // measured over TCP STUN, UDP over UDP. Errc::unreachable when STUN is off, no server of
    // the family is configured or none answered within stun_timeout.
    virtual asio::awaitable<Endpoint> fresh_mapping(Transport transport, Family family) = 0;
    // Why this node must not dial `target` for a peer's request ("loopback",
    // "private_not_ours", ...: traversal/dial_policy.hpp); empty when it may.
    virtual std::string why_not_dial(const Endpoint& target) const = 0;
    // Runs a task of the plugin's until it ends or the node closes.
    virtual void spawn(asio::awaitable<void> task, std::string name) = 0;
};

class Plugin {
public:
    virtual ~Plugin() = default;
    virtual std::string_view name() const = 0;
    virtual Phase phase() const = 0;
    // The signal message tag this plugin uses (unique per plugin; 0: it does not signal).
    virtual std::uint8_t signal_tag() const { return 0; }
    // The attempts this plugin would make to `peer` (every family x route it can serve for
    // this situation); empty when it cannot help, with why in `why_not`. Cheap and synchronous.
    virtual std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport,
                                      std::string& why_not) = 0;
    // Makes the attempt. Throws Exception with the reason it failed. Cancellation must close
    // whatever it opened.
    virtual asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) = 0;
    // Called once the node started: the callee side (answering signals), if the plugin has one.
    virtual void serve(PluginContext& ctx) { (void)ctx; }
};

class PluginRegistry {
public:
    // The built-in plugins of this build (direct_connect, ...).
    static PluginRegistry builtin();
    void add(std::shared_ptr<Plugin> plugin);  // replaces a plugin of the same name
    std::shared_ptr<Plugin> find(std::string_view name) const;
    const std::vector<std::shared_ptr<Plugin>>& all() const { return plugins_; }

private:
    std::vector<std::shared_ptr<Plugin>> plugins_;
};

}  // namespace warpgate
