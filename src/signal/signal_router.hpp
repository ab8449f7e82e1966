// A node's signaling service: keeps connections to its MQTT brokers, listens on its own topic,
// and sends sealed, signed messages to other nodes through the brokers they named in their
// address (docs/signaling.md). Incoming messages are reassembled, opened, verified, checked
// for freshness and handed to the handler of their type; rejected ones are logged with why.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>
#include <warpgate/endpoint.hpp>

#include "crypto/identity.hpp"
#include "net/refusals.hpp"
#include "net/task_group.hpp"
#include "signal/signal_message.hpp"

namespace warpgate::signal {

class MqttClient;

struct RouterOptions {
    std::vector<HostPort> brokers;                       // where this node listens
    std::chrono::milliseconds connect_timeout{3000};     // per broker (NodeConfig::signal_timeout)
    std::chrono::milliseconds freshness_window{60000};   // accepted clock difference either way
    std::function<SystemClock::time_point()> clock = [] { return SystemClock::now(); };
};

// "warpgate/v1/<node id>": the topic a node listens on.
std::string topic_for(std::string_view node_id);

class SignalRouter : public std::enable_shared_from_this<SignalRouter> {
public:
    using Handler = std::function<void(const SignalMessage&)>;
    static constexpr std::size_t max_rejections_kept = 32;

    // Client tasks run in `tasks` (the node's), so close() and the node's shutdown end them.
    static std::shared_ptr<SignalRouter> create(asio::any_io_executor ex, crypto::IdentityKey identity, net::TaskGroup& tasks,
                                                RouterOptions options);

    // Connects to every broker at once and completes when all are subscribed or the connect
    // timeout has passed (a broker that is down delays nothing beyond it). Brokers that did not
    // answer keep retrying with backoff. Returns how many are ready.
    asio::awaitable<std::size_t> start();
    void on(SignalType type, Handler handler);

    // Seals `payload` to the holder of `recipient_pub` and publishes it through every broker of
    // `brokers` (the recipient's hints) that answers; our own brokers when `brokers` is empty.
    // Throws Exception(Errc::unreachable) when no broker took it.
    asio::awaitable<void> send(ByteView recipient_pub, std::vector<HostPort> brokers, SignalType type, ByteView payload);
    // The same for an already sealed message (tests send forged or replayed ones with it).
    asio::awaitable<void> send_sealed(std::string_view recipient_node_id, std::vector<HostPort> brokers, ByteView sealed);

    std::size_t ready_brokers() const;
    const std::vector<HostPort>& brokers() const { return options_.brokers; }
    const crypto::IdentityKey& identity() const { return identity_; }
    // The latest reasons messages were rejected, oldest first.
    const std::deque<Error>& rejections() const { return rejections_; }
    // Rejections counted by reason ("malformed", "auth_failed", "replayed", "replay_guard_full"...).
    const net::RefusalLog& refusals() const { return refusals_; }
    // Disconnects from every broker; the client tasks end.
    void close();

private:
    SignalRouter(asio::any_io_executor ex, crypto::IdentityKey identity, net::TaskGroup& tasks, RouterOptions options);
    std::shared_ptr<MqttClient> client_for(const HostPort& broker, bool listen);
    void on_chunk(ByteView chunk);
    void reject(Error why);

    asio::any_io_executor executor_;
    crypto::IdentityKey identity_;
    net::TaskGroup& tasks_;
    RouterOptions options_;
    std::string topic_;
    std::vector<std::shared_ptr<MqttClient>> clients_;
    std::map<SignalType, Handler> handlers_;
    Reassembler reassembler_;
    ReplayGuard replay_guard_;
    std::deque<MessageId> delivered_ids_;  // the same message relayed by several brokers arrives once
    std::deque<Error> rejections_;
    net::RefusalLog refusals_{"signaling"};
    bool closed_ = false;
};

}  // namespace warpgate::signal
