#include "signal/signal_router.hpp"

#include <algorithm>
#include "log.hpp"

#include "crypto/random.hpp"
#include "net/timeout.hpp"
#include "signal/mqtt_client.hpp"

namespace warpgate::signal {
namespace {

constexpr std::size_t max_delivered_ids = 256;

std::optional<MessageId> chunk_message_id(ByteView chunk) {
    if (chunk.size() < chunk_header_size) return std::nullopt;
    MessageId id{};
    std::copy_n(chunk.begin() + 1, id.size(), id.begin());
    return id;
}

// The refusal counter a rejection goes to.
std::string_view refusal_reason(Errc code) {
    if (code == Errc::auth_failed) return "auth_failed";
    if (code == Errc::replayed) return "replayed";
    if (code == Errc::refused) return "replay_guard_full";
    if (code == Errc::unsupported) return "unsupported";
    return "malformed";
}

}  // namespace

std::string topic_for(std::string_view node_id) { return "warpgate/v1/" + std::string(node_id); }

std::shared_ptr<SignalRouter> SignalRouter::create(asio::any_io_executor ex, crypto::IdentityKey identity, net::TaskGroup& tasks,
                                                   RouterOptions options) {
    return std::shared_ptr<SignalRouter>(new SignalRouter(ex, std::move(identity), tasks, std::move(options)));
}

SignalRouter::SignalRouter(asio::any_io_executor ex, crypto::IdentityKey identity, net::TaskGroup& tasks, RouterOptions options)
    : executor_(ex), identity_(std::move(identity)), tasks_(tasks), options_(std::move(options)),
      topic_(topic_for(crypto::node_id(identity_.public_key()))), replay_guard_(options_.freshness_window) {}

std::shared_ptr<MqttClient> SignalRouter::client_for(const HostPort& broker, bool listen) {
    for (auto& c : clients_)
        if (c->broker() == broker) return c;
    std::weak_ptr<SignalRouter> weak = shared_from_this();
    auto client = MqttClient::create(executor_, broker, options_.connect_timeout, [weak](const std::string&, ByteView payload) {
        if (auto self = weak.lock()) self->on_chunk(payload);
    });
    if (listen) client->subscribe(topic_);
    clients_.push_back(client);
    // The task owns the client (a parameter lives in the coroutine frame), so close() may drop
    // the router's reference before the task first runs.
    auto keep_connected = [](std::shared_ptr<MqttClient> c) -> asio::awaitable<void> { co_await c->run(); };
    tasks_.spawn(keep_connected(client), "mqtt " + broker.to_string());
    return client;
}

asio::awaitable<std::size_t> SignalRouter::start() {
    auto self = shared_from_this();
    std::vector<std::shared_ptr<MqttClient>> mine;
    for (auto& broker : options_.brokers) mine.push_back(client_for(broker, true));
    // All connect at once; waiting for each in turn costs at most one connect timeout overall.
    std::size_t ready = 0;
    auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
    for (auto& client : mine) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        try {
            co_await client->wait_ready(std::max(left, std::chrono::milliseconds(0)));
            ++ready;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            log::info("signaling: {}", e.what());
        }
    }
    co_return ready;
}

void SignalRouter::on(SignalType type, Handler handler) { handlers_[type] = std::move(handler); }

std::size_t SignalRouter::ready_brokers() const {
    std::size_t n = 0;
    for (auto& c : clients_)
        if (c->ready() && std::find(options_.brokers.begin(), options_.brokers.end(), c->broker()) != options_.brokers.end()) ++n;
    return n;
}

asio::awaitable<void> SignalRouter::send(ByteView recipient_pub, std::vector<HostPort> brokers, SignalType type, ByteView payload) {
    auto sealed = seal_signal(identity_, recipient_pub, type, payload, options_.clock());
    if (!sealed) throw Exception(sealed.error());
    co_await send_sealed(crypto::node_id(recipient_pub), std::move(brokers), *sealed);
}

asio::awaitable<void> SignalRouter::send_sealed(std::string_view recipient_node_id, std::vector<HostPort> brokers, ByteView sealed) {
    auto self = shared_from_this();
    if (closed_) throw Exception(Errc::closed, "signaling is closed");
    if (brokers.empty()) brokers = options_.brokers;
    MessageId id{};
    crypto::random_bytes(id);
    auto chunks = split(sealed, id);
    if (!chunks) throw Exception(chunks.error());
    std::vector<std::shared_ptr<MqttClient>> via;
    for (auto& broker : brokers) via.push_back(client_for(broker, false));
    auto topic = topic_for(recipient_node_id);
    std::string failures;
    auto publish = [&](MqttClient& client) {
        for (auto& chunk : *chunks) {
            auto published = client.publish(topic, chunk);
            if (!published) {
                failures += "\n  " + published.error().to_string();
                return false;
            }
        }
        return true;
    };
    // Every broker that is up right now carries a copy; a broker that is down costs nothing
    // while another one took the message.
    std::size_t sent = 0;
    for (auto& client : via)
        if (client->ready() && publish(*client)) ++sent;
    // None was up: wait (one connect timeout in all) for the first that comes up.
    auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
    for (auto& client : via) {
        if (sent > 0) break;
        try {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            co_await client->wait_ready(std::max(left, std::chrono::milliseconds(0)));
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            failures += "\n  " + e.error().to_string();
            continue;
        }
        if (publish(*client)) ++sent;
    }
    if (sent == 0) throw Exception(Errc::unreachable, "no MQTT broker took the signal message:" + failures);
}

void SignalRouter::on_chunk(ByteView chunk) {
    if (auto id = chunk_message_id(chunk); id && std::find(delivered_ids_.begin(), delivered_ids_.end(), *id) != delivered_ids_.end()) {
        log::debug("signaling: message already delivered (relayed by another broker)");
        return;
    }
    auto whole = reassembler_.add(chunk, std::chrono::steady_clock::now());
    if (!whole) return reject(whole.error());
    if (!*whole) return;  // more chunks to come
    auto message = open_signal(identity_, **whole);
    if (!message) return reject(message.error());
    auto fresh = replay_guard_.check(*message, options_.clock());
    if (!fresh) return reject(fresh.error());
    // Only now, authenticated and fresh, does its id mark the message as delivered: a forged
    // message under a real message's id must not make the real one look like a duplicate.
    delivered_ids_.push_back(*chunk_message_id(chunk));
    if (delivered_ids_.size() > max_delivered_ids) delivered_ids_.pop_front();
    auto handler = handlers_.find(message->type);
    if (handler == handlers_.end()) {
        log::debug("signaling: no handler for message type {}", static_cast<int>(message->type));
        return;
    }
    handler->second(*message);
}

void SignalRouter::reject(Error why) {
    refusals_.refuse(refusal_reason(why.code), "rejected a message: " + why.to_string());
    rejections_.push_back(std::move(why));
    if (rejections_.size() > max_rejections_kept) rejections_.pop_front();
}

void SignalRouter::close() {
    closed_ = true;
    for (auto& c : clients_) c->close();
    clients_.clear();
    handlers_.clear();
}

}  // namespace warpgate::signal
