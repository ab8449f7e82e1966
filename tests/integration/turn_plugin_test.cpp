// The turn plugin between two loopback nodes through a real coturn and a real mosquitto: the
// offer and answer over signaling, a link through both allocations (relayed on both sides),
// messages both ways, and the allocations gone when the link closes; what it declines up
// front; and a relayed link moving to a direct UDP path (Session::migrate) with the peer
// following, no message lost or repeated.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <set>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"
#include "proto/turn_client.hpp"
#include "session/session.hpp"
#include "support/mosquitto.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"
#include "support/turn_server.hpp"
#include "support/udp_forwarder.hpp"
#include "traversal/turn_plugin.hpp"
#include "traversal/turn_signal.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using warpgate::test::run_async;

namespace {

using Clock = std::chrono::steady_clock;

warpgate::TurnServer relay_of(const test::TurnServer& coturn) {
    warpgate::TurnServer t;
    t.server = {coturn.endpoint().ip.to_string(), coturn.endpoint().port};
    t.user = coturn.options().user;
    t.password = coturn.options().password;
    return t;
}

// Signaling through `broker` and relaying through `coturn`, over the test preset (whose keys
// live in the test's own folder).
void add_relaying(NodeConfig& conf, const test::Mosquitto& broker, const test::TurnServer& coturn) {
    conf.mqtt_servers = {broker.host_port()};
    conf.sig_pipe_no = 1;
    conf.turn_servers = {relay_of(coturn)};
}

NodeOptions relaying_node(const test::TempDir& dir, const test::Mosquitto& broker, const test::TurnServer& coturn,
                          const char* address = "127.0.0.1") {
    auto options = test::loopback_node(dir, address);
    add_relaying(options.conf, broker, coturn);
    return options;
}

// A started node of relaying_node().
asio::awaitable<std::unique_ptr<Node>> open_relaying(asio::io_context& io, const test::TempDir& dir, const test::Mosquitto& broker,
                                                     const test::TurnServer& coturn) {
    auto options = relaying_node(dir, broker, coturn);
    auto node = co_await Node::open(io.get_executor(), std::move(options));
    co_return node;
}

GateOptions relaying_gate(const test::TempDir& dir, const test::Mosquitto& broker, const test::TurnServer& coturn,
                          const char* address = "127.0.0.1") {
    auto options = test::loopback_gate(dir, address);
    add_relaying(options.conf, broker, coturn);
    return options;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

asio::awaitable<bool> eventually(std::function<bool()> done, std::chrono::milliseconds budget = 3s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (auto end = Clock::now() + budget; !done() && Clock::now() < end;) {
        timer.expires_after(10ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return done();
}

// `node`'s address with every IPv4 entry (and no IPv6 one) at 127.0.0.1:`port`.
const AttemptReport* relay_report(const ConnectResult& result) {
    for (auto& phase : result.phases)
        if (phase.phase == Phase::relay && !phase.attempts.empty()) return &phase.attempts.front();
    return nullptr;
}

double ms_between(Clock::time_point from, Clock::time_point to) { return std::chrono::duration<double, std::milli>(to - from).count(); }

Plugin& turn_plugin(Node& node) { return *node.impl().plugins.find("turn"); }
PluginContext& turn_context(Node& node) { return node.impl().context_for(turn_plugin(node)); }

}  // namespace

TEST(TurnPlugin, TwoLoopbackGatesLinkThroughCoturnBothWaysAndDeallocateOnClose) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", relaying_gate(dir_a, broker, coturn));
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", relaying_gate(dir_b, broker, coturn));
        std::shared_ptr<Link> inbound;
        bravo.on_link([&, ex = io.get_executor()](Link incoming) {
            inbound = std::make_shared<Link>(std::move(incoming));
            asio::co_spawn(ex, [link = inbound]() -> asio::awaitable<void> {
                auto m = co_await link->recv(5s);
                co_await link->send(m);
                co_await link->send(std::string_view("from bravo"));
            }, asio::detached);
        });
        auto begin = Clock::now();
        // (GCC 12: no braced temporaries inside a co_await expression.)
        LinkOptions options{UDP, 10s};
        options.plugins = {"turn"};
        auto link = co_await alpha.connect(bravo.address_text(), options);
        auto linked = Clock::now();
        EXPECT_EQ(link.plugin(), "turn");
        EXPECT_EQ(link.peer_id(), bravo.node().node_id());
        EXPECT_TRUE(link.relayed());
        EXPECT_EQ(link.transport(), UDP);
        EXPECT_EQ(link.remote_endpoint().ip, asio::ip::make_address("127.0.0.1"));
        co_await link.send(std::string_view("through the relay"));
        auto echo = co_await link.recv(5s);
        auto echoed = Clock::now();
        EXPECT_EQ(std::string(as_chars(echo)), "through the relay");
        auto second = co_await link.recv(5s);
        EXPECT_EQ(std::string(as_chars(second)), "from bravo");
        EXPECT_TRUE(inbound && inbound->relayed()) << "the callee's side of the link is on its relay too";
        std::printf("turn on loopback: linked in %.1f ms, first echo after %.1f ms\n",
                    std::chrono::duration<double, std::milli>(linked - begin).count(),
                    std::chrono::duration<double, std::milli>(echoed - begin).count());
        EXPECT_EQ(count(coturn.log(), "lifetime=0"), 0u);

        link.close();
        // Both allocations go: ours with our path, the callee's when its session hears the close.
        EXPECT_TRUE(co_await eventually([&] { return count(coturn.log(), "lifetime=0") >= 2; }))
            << "coturn saw " << count(coturn.log(), "lifetime=0") << " deallocations";
        EXPECT_TRUE(co_await eventually([&] { return inbound && !inbound->is_open(); }));
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(TurnPlugin, DeclinesTcpNoServersAndNoSignalingUpFront) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b, dir_c;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto relaying_options = relaying_node(dir_a, broker, coturn);
        auto no_servers_options = relaying_node(dir_b, broker, coturn);
        no_servers_options.conf.turn_servers.clear();
        auto no_signaling_options = test::loopback_node(dir_c);
        no_signaling_options.conf.turn_servers = {relay_of(coturn)};
        auto relaying = co_await Node::open(io.get_executor(), relaying_options);
        auto no_servers = co_await Node::open(io.get_executor(), no_servers_options);
        auto no_signaling = co_await Node::open(io.get_executor(), no_signaling_options);
        auto peer = no_servers->node_address();
        std::string why;
        EXPECT_TRUE(turn_plugin(*relaying).plan(turn_context(*relaying), peer, TCP, why).empty());
        EXPECT_EQ(why, "no TURN server gives a TCP relay: " + coturn.endpoint().to_string() +
                           " reached over UDP: a TCP relay needs a TCP connection to the server (RFC 6062)");
        auto planned = turn_plugin(*relaying).plan(turn_context(*relaying), peer, UDP, why);
        EXPECT_EQ(planned.size(), 1u);
        if (!planned.empty()) EXPECT_EQ(planned.front().describe(), "turn UDP IPv4 external " + coturn.endpoint().to_string());
        EXPECT_TRUE(turn_plugin(*no_servers).plan(turn_context(*no_servers), relaying->node_address(), UDP, why).empty());
        EXPECT_EQ(why, "no TURN server is configured (turn_servers)");
        EXPECT_TRUE(turn_plugin(*no_signaling).plan(turn_context(*no_signaling), peer, UDP, why).empty());
        EXPECT_EQ(why, "signaling is off");

        // A callee without servers declines the offer, saying why.
        ConnectOptions options{UDP, 5s};
        options.plugins = {"turn"};
        try {
            co_await auto_connect(*relaying, peer, options);
            ADD_FAILURE() << "linked through a callee without TURN servers";
        } catch (const ConnectFailure& e) {
            EXPECT_NE(std::string(e.what()).find("the peer declined the relay: no TURN server is configured"), std::string::npos)
                << e.what();
        }
        co_await relaying->close();
        co_await no_servers->close();
        co_await no_signaling->close();
    });
}

// A link that won on the relay, with only turn allowed, has nothing to move to (leave_relay
// races no plugin); moved by hand to a UDP socket dialled straight at the peer's listen
// port, the peer's session follows the first authenticated record, and 100 numbered
// messages sent across the move all arrive once.
TEST(TurnPlugin, RelayedLinkMovesToADirectUdpPathWithoutLossOrRepeats) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await open_relaying(io, dir_a, broker, coturn);
        auto bravo = co_await open_relaying(io, dir_b, broker, coturn);
        std::shared_ptr<session::Session> theirs;
        std::vector<std::string> received;
        bravo->on_inbound([&](PipePtr pipe) {
            theirs = std::dynamic_pointer_cast<session::Session>(pipe);
            pipe->subscribe({}, [&](Message m, Endpoint, Pipe&) -> asio::awaitable<void> {
                received.emplace_back(as_chars(m));
                co_return;
            });
        });
        ConnectOptions options{UDP, 10s};
        options.plugins = {"turn"};
        options.upgrade_timeout = 500ms;
        auto result = co_await auto_connect(*alpha, bravo->node_address(), options);
        auto ours = std::dynamic_pointer_cast<session::Session>(result.pipe);
        EXPECT_TRUE(ours);
        if (!ours) co_return;
        EXPECT_EQ(result.plugin, "turn");
        EXPECT_TRUE(ours->relayed());
        EXPECT_TRUE(co_await eventually([&] { return theirs != nullptr; }));
        if (!theirs) co_return;
        EXPECT_TRUE(theirs->relayed());
        auto relayed_remote = theirs->remote_endpoint();

        // leave_relay had only turn to race: nothing moved it.
        asio::steady_timer wait(io, 800ms);
        co_await wait.async_wait(asio::use_awaitable);
        EXPECT_TRUE(ours->relayed());
        EXPECT_TRUE(theirs->relayed());

        Endpoint bravo_udp;
        for (auto& e : bravo->listening())
            if (e.ip.is_v4()) bravo_udp = e;
        for (int i = 0; i < 100; ++i) {
            if (i == 50) {
                auto direct = session::open_udp(io.get_executor(), bravo_udp, std::nullopt);
                co_await ours->migrate(direct);
                EXPECT_FALSE(ours->relayed());
                EXPECT_EQ(ours->remote_endpoint(), bravo_udp);
            }
            auto text = "message " + std::to_string(i);
            co_await ours->send(as_bytes(text));
            asio::steady_timer pace(io, 1ms);
            co_await pace.async_wait(asio::use_awaitable);
        }
        EXPECT_TRUE(co_await eventually([&] { return received.size() >= 100; }));
        std::set<std::string> distinct(received.begin(), received.end());
        EXPECT_EQ(received.size(), 100u) << "every message once";
        EXPECT_EQ(distinct.size(), received.size()) << "none repeated";
        for (int i = 0; i < 100; ++i) EXPECT_TRUE(distinct.count("message " + std::to_string(i))) << "message " << i << " lost";
        EXPECT_FALSE(theirs->relayed()) << "the peer followed to the direct path";
        EXPECT_NE(theirs->remote_endpoint(), relayed_remote);
        EXPECT_EQ(theirs->remote_endpoint().port, ours->local_endpoint().port);

        // And back the other way, on the direct path.
        co_await theirs->send(as_bytes(std::string_view("direct reply")));
        auto reply = co_await ours->recv(5s);
        EXPECT_EQ(std::string(as_chars(reply)), "direct reply");
        ours->close();
        co_await alpha->close();
        co_await bravo->close();
    });
}

// An offer nobody follows with a hello: the callee answers, then deallocates once
// hello_timeout has passed.
TEST(TurnPlugin, CalleeAllocationWithoutAHelloIsDeallocated) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha_options = relaying_node(dir_a, broker, coturn);
        auto bravo_options = relaying_node(dir_b, broker, coturn);
        auto alpha = co_await Node::open(io.get_executor(), alpha_options);
        Node bravo(io.get_executor(), bravo_options);
        traversal::TurnPluginOptions short_wait;
        short_wait.hello_timeout = 500ms;
        bravo.plugins().add(std::make_shared<traversal::TurnPlugin>(short_wait));
        co_await bravo.start();

        turn::ClientOptions client;
        client.server = coturn.endpoint();
        client.username = coturn.options().user;
        client.password = coturn.options().password;
        auto ours = co_await turn::Client::allocate(io.get_executor(), client);
        traversal::TurnMessage offer;
        offer.kind = traversal::TurnKind::offer;
        offer.con_id[0] = 7;
        offer.relayed = ours->relayed();
        offer.caller_address = alpha->address();
        auto bytes = traversal::encode_turn(offer);
        auto begin = Clock::now();
        co_await turn_context(*alpha).signal(bravo.node_address(), bytes);
        EXPECT_TRUE(co_await eventually([&] { return count(coturn.log(), "lifetime=0") >= 1; }, 5s))
            << "the callee's allocation outlived its hello timeout";
        auto gone = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
        EXPECT_GT(gone, 500.0) << "deallocated before the hello timeout";
        co_await ours->close();
        co_await alpha->close();
        co_await bravo.close();
    });
}

// Two IPv6-only gates (listening on ::1, addresses without IPv4 entries) and a coturn that
// listens and relays on ::1 only: the plan asks for an IPv6 relayed address (REQUESTED-
// ADDRESS-FAMILY), the callee allocates the same family, and the link runs over IPv6 relays.
TEST(TurnPluginIpv6, TwoIpv6OnlyGatesLinkOverIpv6RelayedAddresses) {
    if (!test::has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback here";
    test::Mosquitto broker;
    test::TurnServer coturn(test::ipv6_only());
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", relaying_gate(dir_a, broker, coturn, "::1"));
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", relaying_gate(dir_b, broker, coturn, "::1"));
        auto peer = bravo.node().node_address();
        EXPECT_TRUE(peer.v4.empty());
        EXPECT_FALSE(peer.v6.empty());
        std::string why;
        auto planned = turn_plugin(alpha.node()).plan(turn_context(alpha.node()), peer, UDP, why);
        EXPECT_EQ(planned.size(), 1u) << why;
        if (!planned.empty()) EXPECT_EQ(planned.front().describe(), "turn UDP IPv6 external " + coturn.endpoint().to_string());
        std::shared_ptr<Link> inbound;
        bravo.on_link([&, ex = io.get_executor()](Link incoming) {
            inbound = std::make_shared<Link>(std::move(incoming));
            asio::co_spawn(ex, [link = inbound]() -> asio::awaitable<void> {
                auto m = co_await link->recv(5s);
                co_await link->send(m);
            }, asio::detached);
        });
        LinkOptions options{UDP, 10s};
        options.plugins = {"turn"};
        auto link = co_await alpha.connect(bravo.address_text(), options);
        EXPECT_EQ(link.plugin(), "turn");
        EXPECT_TRUE(link.relayed());
        EXPECT_EQ(link.remote_endpoint().ip, asio::ip::make_address("::1")) << "the callee's relayed address";
        co_await link.send(std::string_view("over IPv6 relays"));
        auto echo = co_await link.recv(5s);
        EXPECT_EQ(std::string(as_chars(echo)), "over IPv6 relays");
        EXPECT_TRUE(inbound && inbound->relayed());
        if (inbound) EXPECT_EQ(inbound->remote_endpoint().ip, asio::ip::make_address("::1"));
        link.close();
        co_await alpha.close();
        co_await bravo.close();
    });
}

// The families a relay lacks. An IPv6-only peer, but our coturn relays IPv4 only: the IPv6
// Allocate gets 440 and the initiator offers an IPv4 relayed address instead, which the
// callee's server (the same) grants too. When the callee's server relays IPv6 only, it
// declines the IPv4 offer saying so, and the connect fails with that reason.
TEST(TurnPluginIpv6, A440FallsBackToTheOtherFamilyAndACalleeWithoutItDeclinesClearly) {
    if (!test::has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback here";
    test::Mosquitto broker;
    test::TurnServer v4_coturn(test::ipv4_relay_only());
    test::TurnServer v6_coturn(test::ipv6_only());
    test::TempDir dir_a, dir_b, dir_c;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha_options = relaying_node(dir_a, broker, v4_coturn, "::1");
        auto bravo_options = relaying_node(dir_b, broker, v4_coturn, "::1");
        auto charlie_options = relaying_node(dir_c, broker, v6_coturn, "::1");
        auto alpha = co_await Node::open(io.get_executor(), alpha_options);
        auto bravo = co_await Node::open(io.get_executor(), bravo_options);
        auto charlie = co_await Node::open(io.get_executor(), charlie_options);
        ConnectOptions options{UDP, 10s};
        options.plugins = {"turn"};
        options.leave_relay = false;
        auto result = co_await auto_connect(*alpha, bravo->node_address(), options);
        EXPECT_EQ(result.plugin, "turn");
        EXPECT_EQ(result.attempt.family, IP6) << "planned IPv6 for an IPv6-only peer";
        EXPECT_TRUE(result.pipe && result.pipe->relayed());
        if (result.pipe) EXPECT_EQ(result.pipe->remote_endpoint().ip, asio::ip::make_address("127.0.0.1")) << "fell back to IPv4";
        if (result.pipe) result.pipe->close();

        try {
            co_await auto_connect(*alpha, charlie->node_address(), options);
            ADD_FAILURE() << "linked through a callee whose relay has no IPv4";
        } catch (const ConnectFailure& e) {
            std::string what = e.what();
            EXPECT_NE(what.find("the peer declined the relay"), std::string::npos) << what;
            EXPECT_NE(what.find("relays no IPv4 (440"), std::string::npos) << what;
        }
        co_await alpha->close();
        co_await bravo->close();
        co_await charlie->close();
    });
}

// The relay budget (ConnectOptions::relay_after). The direct path opens 400 ms in (a
// forwarder drops the hellos before): the relay, started at once (stagger 0), is ready within
// tens of milliseconds but held back, and the direct dial wins before the 1.5 s budget.
TEST(TurnRelayBudget, ADirectPathThatLinksWithinTheBudgetWinsOverAReadyRelay) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await open_relaying(io, dir_a, broker, coturn);
        auto bravo = co_await open_relaying(io, dir_b, broker, coturn);
        auto begin = Clock::now();
        auto opens_at = begin + 400ms;
        test::UdpForwarder late(io, test::udp_listen_v4(*bravo), [opens_at](auto) { return Clock::now() < opens_at; });
        ConnectOptions options{UDP, 10s};
        options.plugins = {"direct_connect", "turn"};
        options.stagger = 0ms;
        options.relay_after = 1500ms;
        auto behind_late = test::redirected(*bravo, late.endpoint().port);
        auto result = co_await auto_connect(*alpha, behind_late, options);
        auto linked_ms = ms_between(begin, Clock::now());
        EXPECT_EQ(result.plugin, "direct_connect");
        EXPECT_FALSE(result.pipe->relayed());
        EXPECT_GT(late.dropped(), 0u) << "the direct hellos before the path opened were dropped";
        EXPECT_GE(linked_ms, 400.0);
        EXPECT_LT(linked_ms, 1500.0);
        auto relay = relay_report(result);
        EXPECT_TRUE(relay);
        if (relay) EXPECT_EQ(relay->outcome, "relayed path ready, held back by the relay budget until another attempt won");
        std::printf("relay budget 1500 ms, direct path open at 400 ms: direct link after %.1f ms\n", linked_ms);
        result.pipe->close();
        co_await alpha->close();
        co_await bravo->close();
    });
}

// The direct path never opens: the link is on the relay shortly after the budget (not after
// the direct dial's 3 s connect timeout), for two budgets; with no direct plugin at all, the
// relayed link is taken as soon as it is ready.
TEST(TurnRelayBudget, WithTheDirectPathBlockedTheRelayLinksShortlyAfterTheBudget) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await open_relaying(io, dir_a, broker, coturn);
        auto bravo = co_await open_relaying(io, dir_b, broker, coturn);
        test::UdpForwarder never(io, test::udp_listen_v4(*bravo), [](auto) { return true; });
        auto blocked = test::redirected(*bravo, never.endpoint().port);
        std::array<std::chrono::milliseconds, 2> budgets{1000ms, 300ms};
        for (auto budget : budgets) {
            ConnectOptions options{UDP, 10s};
            options.plugins = {"direct_connect", "turn"};
            options.relay_after = budget;
            options.leave_relay = false;
            auto begin = Clock::now();
            auto result = co_await auto_connect(*alpha, blocked, options);
            auto linked_ms = ms_between(begin, Clock::now());
            EXPECT_EQ(result.plugin, "turn");
            EXPECT_TRUE(result.pipe->relayed());
            EXPECT_GE(linked_ms, static_cast<double>(budget.count()));
            EXPECT_LT(linked_ms, budget.count() + 500.0);
            std::printf("relay budget %lld ms, direct path blocked: relayed link after %.1f ms\n",
                        static_cast<long long>(budget.count()), linked_ms);
            result.pipe->close();
        }
        ConnectOptions only_turn{UDP, 10s};
        only_turn.plugins = {"turn"};
        only_turn.leave_relay = false;
        auto direct_peer = bravo->node_address();
        auto begin = Clock::now();
        auto result = co_await auto_connect(*alpha, direct_peer, only_turn);
        auto linked_ms = ms_between(begin, Clock::now());
        EXPECT_EQ(result.plugin, "turn");
        EXPECT_LT(linked_ms, 500.0) << "nothing else was trying: no wait for the 1 s budget";
        std::printf("relay budget 1000 ms, nothing direct to try: relayed link after %.1f ms\n", linked_ms);
        result.pipe->close();
        co_await alpha->close();
        co_await bravo->close();
    });
}

// A TURN server that nothing reaches (a forwarder dropping every datagram): `--plugins turn`
// ends within its timeout, shorter than one transaction's retransmission budget, with a
// timeout naming the relay attempt, and the node then closes at once (the cancelled Allocate
// leaves nothing waiting).
TEST(TurnPlugin, AnUnreachableRelayEndsWithinTheConnectTimeout) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        test::UdpForwarder black_hole(io, coturn.endpoint(), [](auto) { return true; });
        auto alpha_options = relaying_node(dir_a, broker, coturn);
        alpha_options.conf.turn_servers.front().server.port = black_hole.endpoint().port;
        auto alpha = co_await Node::open(io.get_executor(), alpha_options);
        auto bravo = co_await open_relaying(io, dir_b, broker, coturn);
        ConnectOptions options{UDP, 1500ms};
        options.plugins = {"turn"};
        auto peer = bravo->node_address();
        auto begin = Clock::now();
        try {
            co_await auto_connect(*alpha, peer, options);
            ADD_FAILURE() << "linked through a relay nothing reaches";
        } catch (const ConnectFailure& e) {
            EXPECT_EQ(e.errc(), Errc::timeout) << e.what();
            EXPECT_NE(std::string(e.what()).find("turn UDP IPv4"), std::string::npos) << e.what();
        }
        auto ended_ms = ms_between(begin, Clock::now());
        EXPECT_LT(ended_ms, 1500.0 + 300.0);
        auto closing = Clock::now();
        co_await alpha->close();
        EXPECT_LT(ms_between(closing, Clock::now()), 500.0) << "closing waited for the cancelled allocation";
        EXPECT_GT(black_hole.dropped(), 0u);
        std::printf("unreachable relay, timeout 1500 ms: connect ended after %.1f ms\n", ended_ms);
        co_await bravo->close();
    });
}
