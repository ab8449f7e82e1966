// TURN client (RFC 8656 §6-§12): one allocation on one server, over UDP, TCP or TLS.
//
// allocate() connects, sends Allocate, answers the server's 401 with the long-term credentials
// (realm and nonce from the challenge) and a 438 with the new nonce, and returns a client
// whose allocation it keeps alive: Refresh before the lifetime ends, CreatePermission every
// 4 minutes (permissions last 5), ChannelBind every 9 (channels last 10). Data for a peer goes
// as ChannelData once a channel is bound, else in a Send indication; data from a peer (Data
// indication or ChannelData) goes to the handler registered for it. close() deallocates
// (Refresh with lifetime 0).
//
// Everything runs on the executor given (one thread); every wait is bounded (retransmission
// budget on UDP, a timeout on streams) and cancellable. Awaitable members throw Exception.
// When the allocation ends by itself (the server closed the stream, stopped answering, or lost
// the allocation), the end handler gets why, once.
// The client's own tasks (receiver, timers) hold it until close() or that end: await close().
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "net/task_group.hpp"
#include "proto/stun_client.hpp"
#include "proto/turn.hpp"
#include "proto/turn_transport.hpp"

namespace warpgate::turn {

struct ClientOptions {
    Endpoint server;
    ServerTransport transport = ServerTransport::udp;
    std::string username;
    std::string password;
    std::optional<asio::ip::address> local_ip;  // the client socket's address; unset: any
    TlsOptions tls;
    std::chrono::seconds lifetime = default_lifetime;  // asked for; the server may grant less
    Family family = IP4;                               // of the relayed address
    warpgate::Transport relay = UDP;  // TCP: an RFC 6062 TCP allocation (the transport must be tcp or tls)
    // UDP transactions retransmit (RFC 8489 §6.2.1); stream transactions wait this long.
    stun::RetransmitPolicy udp = stun::RetransmitPolicy::within(std::chrono::milliseconds(3000));
    std::chrono::milliseconds stream_timeout{5000};
    std::chrono::milliseconds connect_timeout{5000};
    // Refresh this long before the allocation would expire (at half the lifetime when that is
    // shorter than the margin).
    std::chrono::seconds refresh_margin{60};
    std::chrono::milliseconds permission_refresh = std::chrono::minutes(4);
    std::chrono::milliseconds channel_refresh = std::chrono::minutes(9);
    std::chrono::milliseconds close_timeout{1000};  // for the Deallocate on close()
};

// What the client counts, so tests and logs can tell what happened.
struct ClientStats {
    int refreshes = 0;             // successful Refresh transactions (not the Deallocate)
    int permission_refreshes = 0;  // CreatePermission sent again for existing peers
    int channel_refreshes = 0;
    int stale_nonces = 0;          // 438 answered with the new nonce
    int retransmissions = 0;       // UDP requests sent again
    std::uint64_t data_in = 0;     // payloads handed to peer handlers
    std::uint64_t unknown_peer = 0;  // data from a peer without a handler (dropped)
    std::uint64_t ignored = 0;     // frames that did not decode or matched nothing
};

class Client : public std::enable_shared_from_this<Client> {
public:
    using DataHandler = std::function<void(ByteView data)>;
    using EndHandler = std::function<void(const Error&)>;
    using ConnectionAttemptHandler = std::function<void(const ConnectionAttempt&)>;

    // Connects and allocates. Errc::auth_failed: "TURN server X refused the credentials for
    // user U (401 after authentication)"; Errc::unsupported when the server relays no address
    // of options.family (440: "TURN server X relays no IPv6 (440 ...)"); Errc::refused for
    // another error response;
    // Errc::timeout when the server does not answer.
    static asio::awaitable<std::shared_ptr<Client>> allocate(asio::any_io_executor executor, ClientOptions options);
    ~Client();

    const Endpoint& relayed() const { return allocation_.relayed.front(); }
    const std::vector<Endpoint>& relayed_addresses() const { return allocation_.relayed; }
    const Endpoint& mapped() const { return allocation_.mapped; }  // our address as the server sees it
    std::chrono::seconds lifetime() const { return allocation_.lifetime; }
    Endpoint local() const;
    asio::any_io_executor executor() const { return executor_; }
    const ClientOptions& options() const { return options_; }
    const ClientStats& stats() const { return stats_; }
    bool is_open() const { return open_; }
    std::string describe() const;  // "TURN UDP 127.0.0.1:40000 -> 127.0.0.1:3478 (relayed 127.0.0.1:50000)"

    // Installs (and keeps refreshing) permissions for the peers' IPs (RFC 8656 §9).
    asio::awaitable<void> create_permission(std::vector<Endpoint> peers);
    // Binds a channel to the peer (and keeps it bound); the permission comes with it (§11).
    // Returns the channel number; a peer already bound keeps its channel.
    asio::awaitable<std::uint16_t> bind_channel(Endpoint peer);
    // Relays data to the peer (it must have a permission): ChannelData when bound, else a
    // Send indication. Best effort like UDP: nothing confirms delivery.
    asio::awaitable<void> send(Endpoint peer, ByteView data);
    // Data from `peer` (ip and port) goes to `handler`; an empty handler removes it.
    void on_data(Endpoint peer, DataHandler handler);
    void on_end(EndHandler handler) { on_end_ = std::move(handler); }

    // TCP allocations (RFC 6062). Asks the server to connect the relayed address to `peer`
    // (it needs a permission); returns the connection id to bind a data connection to
    // (proto/turn_data_connection.hpp). Errc::refused with the server's 446 or 447.
    asio::awaitable<std::uint32_t> connect(Endpoint peer);
    // A peer connected to the relayed address: `handler` gets each ConnectionAttempt (an
    // empty handler ignores them; the server closes an unbound peer connection after 30 s).
    void on_connection_attempt(ConnectionAttemptHandler handler) { on_connection_attempt_ = std::move(handler); }
    // The long-term credentials the allocation was made with (none when the server asked for
    // none): a data connection's ConnectionBind is signed with them.
    const std::optional<Credentials>& credentials() const { return credentials_; }

    // Refreshes the allocation now (the timer does it by itself); returns the granted lifetime.
    asio::awaitable<std::chrono::seconds> refresh();
    // Deallocates (Refresh lifetime 0, waiting at most close_timeout), stops the timers and
    // closes the connection. Safe to call twice; never throws.
    asio::awaitable<void> close();

private:
    struct Pending;
    struct Response;
    Client(asio::any_io_executor executor, ClientOptions options, std::unique_ptr<Transport> transport);

    using Encoder = std::function<Bytes(const stun::TransactionId&, const Credentials*)>;
    asio::awaitable<Response> request(stun::Method method, Encoder encode);
    asio::awaitable<Bytes> transact(const stun::TransactionId& id, const Bytes& message, stun::Method method);
    asio::awaitable<void> receive_loop();
    asio::awaitable<void> maintain();
    void schedule_refresh();
    void on_frame(ByteView frame);
    void deliver(const Endpoint& peer, ByteView data);
    void end(Error why);
    std::string server_name() const;

    asio::any_io_executor executor_;
    ClientOptions options_;
    std::unique_ptr<Transport> transport_;
    std::optional<Credentials> credentials_;
    Allocation allocation_;
    std::chrono::steady_clock::time_point refresh_due_;
    std::vector<Endpoint> permissions_;           // peers whose IPs have permissions
    std::map<std::uint16_t, Endpoint> channels_;  // bound channels
    std::uint16_t next_channel_ = first_channel;
    std::map<stun::TransactionId, Pending*> pending_;
    std::map<std::pair<asio::ip::address, std::uint16_t>, DataHandler> handlers_;
    EndHandler on_end_;
    ConnectionAttemptHandler on_connection_attempt_;
    ClientStats stats_;
    bool open_ = true;
    std::optional<Error> ended_;
    net::TaskGroup tasks_;
};

}  // namespace warpgate::turn
