// Signaling through a real mosquitto broker started by the test: delivery, every rejection
// case (forged, tampered, misaddressed, replayed, stale), large messages, failover.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/node.hpp>

#include "net/task_group.hpp"
#include "node/node_impl.hpp"
#include "signal/mqtt_client.hpp"
#include "signal/signal_router.hpp"
#include "support/free_port.hpp"
#include "support/mosquitto.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::signal;
using namespace warpgate::test;
using namespace std::chrono_literals;

namespace {

// Polls `done` every 10 ms until it holds or `timeout` passes; returns whether it held.
template <class F>
asio::awaitable<bool> eventually(F done, std::chrono::milliseconds timeout = 5s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        timer.expires_after(10ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return true;
}

// Coroutines must not hold initializer lists (GCC 12): lists are built out here.
std::vector<HostPort> hosts(HostPort a) { return {std::move(a)}; }
std::vector<HostPort> hosts(HostPort a, HostPort b) { return {std::move(a), std::move(b)}; }

RouterOptions router_options(std::vector<HostPort> brokers, std::chrono::milliseconds timeout) {
    RouterOptions o;
    o.brokers = std::move(brokers);
    o.connect_timeout = timeout;
    return o;
}

std::vector<std::string> texts(const std::vector<SignalMessage>& messages) {
    std::vector<std::string> out;
    for (auto& m : messages) out.emplace_back(as_chars(m.payload));
    return out;
}

const std::vector<std::string> expected_after_rejections = {"after forged", "after tampered", "after misaddressed", "once",
                                                            "after replay", "after stale"};

bool rejected_because(const SignalRouter& router, std::string_view reason) {
    for (auto& e : router.rejections())
        if (e.message.find(reason) != std::string::npos) return true;
    return false;
}

// Two routers on the same brokers; bravo records the text messages it accepts.
struct Pair {
    Pair(asio::any_io_executor ex, std::vector<HostPort> brokers) : tasks(ex) {
        alpha = SignalRouter::create(ex, crypto::IdentityKey::generate(), tasks, router_options(brokers, 2000ms));
        bravo = SignalRouter::create(ex, crypto::IdentityKey::generate(), tasks, router_options(brokers, 2000ms));
        bravo->on(SignalType::text, [this](const SignalMessage& m) { received.push_back(m); });
    }
    asio::awaitable<void> start() {
        auto a = co_await alpha->start();
        auto b = co_await bravo->start();
        EXPECT_EQ(a, alpha->brokers().size());
        EXPECT_EQ(b, bravo->brokers().size());
    }
    std::string bravo_id() const { return crypto::node_id(bravo->identity().public_key()); }
    // Sends a marker through alpha and waits for bravo to accept it: whatever alpha sent
    // before has been handled by then (one broker keeps a publisher's order on a topic).
    asio::awaitable<bool> marker(std::string text) {
        co_await alpha->send(bravo->identity().public_key(), std::vector<HostPort>(), SignalType::text, as_bytes(text));
        auto arrived = co_await eventually([&] { return !received.empty() && as_chars(received.back().payload) == text; });
        co_return arrived;
    }
    asio::awaitable<void> close() {
        alpha->close();
        bravo->close();
        co_await tasks.wait();
    }
    net::TaskGroup tasks;
    std::shared_ptr<SignalRouter> alpha, bravo;
    std::vector<SignalMessage> received;
};

}  // namespace

TEST(SignalRouter, DeliversBetweenTwoNodes) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_node(dir);
        options.conf.mqtt_servers = hosts(broker.host_port());
        options.conf.sig_pipe_no = 1;
        options.identity = "alpha";
        auto alpha = co_await Node::open(io.get_executor(), options);
        options.identity = "bravo";
        auto bravo = co_await Node::open(io.get_executor(), options);
        auto& phase = alpha->phases();
        auto signal_phase = std::find_if(phase.begin(), phase.end(), [](auto& p) { return p.name == "setup_router_and_signal"; });
        EXPECT_NE(signal_phase->outcome.find("1 of 1 MQTT brokers ready"), std::string::npos) << signal_phase->outcome;
        EXPECT_EQ(alpha->node_address().hints.size(), 1u);

        std::vector<SignalMessage> got;
        bravo->impl().signaling->on(SignalType::text, [&](const SignalMessage& m) { got.push_back(m); });
        co_await alpha->impl().signaling->send(bravo->public_key(), hosts(bravo->node_address().hints.at(0).server), SignalType::text,
                                               as_bytes("hello bravo"));
        auto arrived = co_await eventually([&] { return !got.empty(); });
        EXPECT_TRUE(arrived);
        if (arrived) {
            EXPECT_EQ(as_chars(got[0].payload), "hello bravo");
            EXPECT_EQ(got[0].sender, alpha->public_key());
        }
        co_await alpha->close();
        co_await bravo->close();
        EXPECT_FALSE(alpha->impl().signaling);
    });
}

TEST(SignalRouter, RejectsForgedTamperedMisaddressedReplayedAndStale) {
    Mosquitto broker;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Pair pair(io.get_executor(), hosts(broker.host_port()));
        co_await pair.start();
        auto& alpha = *pair.alpha;
        auto bravo_pub = pair.bravo->identity().public_key();
        auto now = SystemClock::now();

        // Forged: signed by mallory, claiming alpha.
        SignalMessage m;
        m.type = SignalType::text;
        m.sender = alpha.identity().public_key();
        m.recipient = pair.bravo_id();
        m.timestamp_ms = to_unix_ms(now);
        m.nonce.fill(1);
        m.payload = Bytes(as_bytes("forged").begin(), as_bytes("forged").end());
        auto forged = *seal_envelope(bravo_pub, encode_envelope(m, crypto::IdentityKey::generate()));
        co_await alpha.send_sealed(pair.bravo_id(), std::vector<HostPort>(), forged);
        auto ok = co_await pair.marker("after forged");
        EXPECT_TRUE(ok);
        EXPECT_TRUE(rejected_because(*pair.bravo, "signature"));

        // Tampered: one ciphertext bit flipped by the broker.
        auto tampered = *seal_signal(alpha.identity(), bravo_pub, SignalType::text, as_bytes("tampered"), now);
        tampered[tampered.size() / 2] ^= 0x80;
        co_await alpha.send_sealed(pair.bravo_id(), std::vector<HostPort>(), tampered);
        ok = co_await pair.marker("after tampered");
        EXPECT_TRUE(ok);
        EXPECT_TRUE(rejected_because(*pair.bravo, "failed authentication"));

        // Misaddressed: sealed to bravo but the signed envelope names another node.
        m.recipient = crypto::node_id(crypto::IdentityKey::generate().public_key());
        m.nonce.fill(2);
        auto misaddressed = *seal_envelope(bravo_pub, encode_envelope(m, alpha.identity()));
        co_await alpha.send_sealed(pair.bravo_id(), std::vector<HostPort>(), misaddressed);
        ok = co_await pair.marker("after misaddressed");
        EXPECT_TRUE(ok);
        EXPECT_TRUE(rejected_because(*pair.bravo, "addressed to node"));

        // Replayed: a genuine message published a second time.
        auto genuine = *seal_signal(alpha.identity(), bravo_pub, SignalType::text, as_bytes("once"), now);
        co_await alpha.send_sealed(pair.bravo_id(), std::vector<HostPort>(), genuine);
        co_await alpha.send_sealed(pair.bravo_id(), std::vector<HostPort>(), genuine);
        ok = co_await pair.marker("after replay");
        EXPECT_TRUE(ok);
        EXPECT_TRUE(rejected_because(*pair.bravo, "nonce seen before"));

        // Stale: stamped by a clock ten minutes behind.
        auto stale = *seal_signal(alpha.identity(), bravo_pub, SignalType::text, as_bytes("stale"), now - 10min);
        co_await alpha.send_sealed(pair.bravo_id(), std::vector<HostPort>(), stale);
        ok = co_await pair.marker("after stale");
        EXPECT_TRUE(ok);
        EXPECT_TRUE(rejected_because(*pair.bravo, "stale"));

        EXPECT_EQ(texts(pair.received), expected_after_rejections);
        co_await pair.close();
    });
}

TEST(SignalRouter, LargeMessageIsSplitAndReassembled) {
    Mosquitto broker;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Pair pair(io.get_executor(), hosts(broker.host_port()));
        co_await pair.start();
        Bytes big(200 * 1024);
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 13 + i / 251);
        co_await pair.alpha->send(pair.bravo->identity().public_key(), std::vector<HostPort>(), SignalType::text, big);
        auto arrived = co_await eventually([&] { return !pair.received.empty(); });
        EXPECT_TRUE(arrived);
        if (arrived) EXPECT_EQ(pair.received[0].payload, big);
        co_await pair.close();
    });
}

TEST(SignalRouter, FailsOverWhenABrokerStops) {
    Mosquitto first, second;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Pair pair(io.get_executor(), hosts(first.host_port(), second.host_port()));
        co_await pair.start();
        auto ok = co_await pair.marker("both up");
        EXPECT_TRUE(ok);
        EXPECT_EQ(pair.received.size(), 1u) << "a message relayed by both brokers is delivered once";
        first.stop();
        auto noticed = co_await eventually([&] { return pair.alpha->ready_brokers() == 1 && pair.bravo->ready_brokers() == 1; });
        EXPECT_TRUE(noticed);
        ok = co_await pair.marker("first stopped");
        EXPECT_TRUE(ok);
        co_await pair.close();
    });
}

TEST(SignalRouter, MessageSentRightAfterABrokerStopsStillArrives) {
    Mosquitto first, second;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Pair pair(io.get_executor(), hosts(first.host_port(), second.host_port()));
        co_await pair.start();
        first.stop();
        auto ok = co_await pair.marker("sent at once");
        EXPECT_TRUE(ok);
        co_await pair.close();
    });
}

TEST(SignalRouter, BrokerDownAtStartCostsOnlyItsConnectTimeout) {
    Mosquitto live;
    HostPort dead{"127.0.0.1", free_port()};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        net::TaskGroup tasks(io.get_executor());
        auto router = SignalRouter::create(io.get_executor(), crypto::IdentityKey::generate(), tasks,
                                           router_options(hosts(dead, live.host_port()), 500ms));
        auto ready = co_await router->start();
        EXPECT_EQ(ready, 1u);
        auto peer = SignalRouter::create(io.get_executor(), crypto::IdentityKey::generate(), tasks,
                                         router_options(hosts(live.host_port()), 500ms));
        std::vector<SignalMessage> got;
        peer->on(SignalType::text, [&](const SignalMessage& m) { got.push_back(m); });
        co_await peer->start();
        co_await router->send(peer->identity().public_key(), hosts(dead, live.host_port()), SignalType::text, as_bytes("via the live one"));
        auto arrived = co_await eventually([&] { return !got.empty(); });
        EXPECT_TRUE(arrived);
        // Nobody answers on the dead broker: sending only through it fails with the reason.
        bool refused = false;
        try {
            co_await router->send(peer->identity().public_key(), hosts(dead), SignalType::text, as_bytes("nowhere"));
        } catch (const Exception& e) {
            refused = e.errc() == Errc::unreachable;
        }
        EXPECT_TRUE(refused);
        router->close();
        peer->close();
        co_await tasks.wait();
    });
}

TEST(SignalRouter, NodeStartsWithItsOnlyBrokerDown) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_node(dir);
        options.conf.mqtt_servers = hosts(HostPort{"127.0.0.1", free_port()});
        options.conf.sig_pipe_no = 1;
        options.conf.signal_timeout = 300ms;
        auto node = co_await Node::open(io.get_executor(), options);
        auto& phases = node->phases();
        auto signal_phase = std::find_if(phases.begin(), phases.end(), [](auto& p) { return p.name == "setup_router_and_signal"; });
        EXPECT_NE(signal_phase->outcome.find("0 of 1"), std::string::npos) << signal_phase->outcome;
        co_await node->close();
    });
}

// Deduplication by message id happens only after authentication: a stranger who publishes junk
// under a genuine message's id first (the id is visible to anyone on the topic) must not make
// the genuine message look like an already delivered copy.
TEST(SignalRouter, AForgedMessageUnderAGenuineIdDoesNotSuppressIt) {
    Mosquitto broker;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        Pair pair(io.get_executor(), hosts(broker.host_port()));
        co_await pair.start();
        auto stranger = MqttClient::create(io.get_executor(), broker.host_port(), 2000ms, nullptr);
        auto keep_connected = [](std::shared_ptr<MqttClient> c) -> asio::awaitable<void> { co_await c->run(); };
        pair.tasks.spawn(keep_connected(stranger), "stranger");
        co_await stranger->wait_ready(2000ms);

        MessageId id{};
        id.fill(0x5A);
        Bytes junk(200, 0x11);
        auto forged = *split(junk, id);
        auto sealed = *seal_signal(pair.alpha->identity(), pair.bravo->identity().public_key(), SignalType::text, as_bytes("genuine"),
                                   SystemClock::now());
        auto genuine = *split(sealed, id);
        auto topic = topic_for(pair.bravo_id());
        EXPECT_TRUE(stranger->publish(topic, forged.at(0)));
        EXPECT_TRUE(stranger->publish(topic, genuine.at(0)));
        auto arrived = co_await eventually([&] { return !pair.received.empty(); });
        EXPECT_TRUE(arrived) << "the genuine message was dropped as a duplicate of the forged one";
        if (arrived) {
            EXPECT_EQ(as_chars(pair.received[0].payload), "genuine");
        }
        EXPECT_EQ(pair.bravo->refusals().total(), 1u) << "the junk was refused and counted";
        stranger->close();
        co_await pair.close();
    });
}
