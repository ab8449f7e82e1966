// The turn plugin over TCP (RFC 6062) through a real coturn (TCP relay on) and a real
// mosquitto on loopback: the client's Connect, ConnectionAttempt and ConnectionBind against
// coturn; two gates linking over TCP through the callee's TCP allocation, relayed on both
// sides, messages both ways, the allocation gone when the link closes; the declines when no
// server is reached over TCP; and a callee's peer connection that carries no hello closed and
// deallocated after hello_timeout.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"
#include "proto/turn_client.hpp"
#include "proto/turn_data_connection.hpp"
#include "support/gate_helpers.hpp"
#include "support/mosquitto.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"
#include "support/turn_server.hpp"
#include "traversal/turn_plugin.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using warpgate::test::eventually;
using warpgate::test::run_async;

namespace {

using Clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// Signaling through `broker`, TURN through `coturn` reached over `transport`.
void relay_over(NodeConfig& conf, const test::Mosquitto& broker, const test::TurnServer& coturn, TurnTransport transport) {
    warpgate::TurnServer t;
    auto at = transport == TurnTransport::tls ? coturn.tls_endpoint() : coturn.endpoint();
    t.server = {"127.0.0.1", at.port};
    t.user = coturn.options().user;
    t.password = coturn.options().password;
    t.transport = transport;
    t.ca_file = coturn.ca_file().string();
    conf.mqtt_servers = {broker.host_port()};
    conf.sig_pipe_no = 1;
    conf.turn_servers = {t};
}

std::size_t deallocations(const test::TurnServer& coturn) {
    auto log = coturn.log();
    std::size_t n = 0;
    for (auto at = log.find("lifetime=0"); at != std::string::npos; at = log.find("lifetime=0", at + 1)) ++n;
    return n;
}

asio::awaitable<std::string> read_text(tcp::socket& socket, std::size_t n) {
    std::string text(n, '\0');
    co_await asio::async_read(socket, asio::buffer(text), asio::use_awaitable);
    co_return text;
}

// `a` and `b` are the two ends of one relayed stream: bytes go both ways.
asio::awaitable<void> expect_stream(tcp::socket& a, tcp::socket& b) {
    co_await asio::async_write(a, asio::buffer(std::string_view("ping")), asio::use_awaitable);
    auto ping = co_await read_text(b, 4);
    EXPECT_EQ(ping, "ping");
    co_await asio::async_write(b, asio::buffer(std::string_view("pong!")), asio::use_awaitable);
    auto pong = co_await read_text(a, 5);
    EXPECT_EQ(pong, "pong!");
}

Plugin& turn_plugin(Node& node) { return *node.impl().plugins.find("turn"); }
PluginContext& turn_context(Node& node) { return node.impl().context_for(turn_plugin(node)); }

}  // namespace

// The client's side of RFC 6062 on its own: a TCP allocation; Connect to a listening peer and
// a data connection bound to it; a peer connecting to the relayed address announced by
// ConnectionAttempt and bound the same way; an unknown connection id not bound.
TEST(TurnTcpRelay, ClientConnectsAcceptsAndBindsDataConnectionsOnCoturn) {
    test::TurnServer coturn;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto ex = io.get_executor();
        turn::ClientOptions options;
        options.server = coturn.endpoint();
        options.transport = turn::ServerTransport::tcp;
        options.username = coturn.options().user;
        options.password = coturn.options().password;
        options.relay = TCP;
        auto client = co_await turn::Client::allocate(ex, options);
        EXPECT_EQ(client->relayed().ip, asio::ip::make_address("127.0.0.1"));

        tcp::acceptor listener(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        Endpoint peer{listener.local_endpoint().address(), listener.local_endpoint().port()};
        std::vector<Endpoint> peers{peer};
        co_await client->create_permission(peers);
        auto id = co_await client->connect(peer);
        auto accepted = co_await listener.async_accept(asio::use_awaitable);
        EXPECT_EQ(accepted.remote_endpoint().port(), client->relayed().port) << "the relay connects from its relayed address";
        auto outbound = co_await turn::bind_data_connection(*client, id);
        co_await expect_stream(outbound, accepted);

        std::optional<turn::ConnectionAttempt> announced;
        client->on_connection_attempt([&](const turn::ConnectionAttempt& a) { announced = a; });
        tcp::socket caller(ex);
        co_await caller.async_connect(tcp::endpoint(client->relayed().ip, client->relayed().port), asio::use_awaitable);
        EXPECT_TRUE(co_await eventually([&] { return announced.has_value(); }, 3s)) << "no ConnectionAttempt";
        if (announced) {
            EXPECT_EQ(announced->peer.port, caller.local_endpoint().port());
            EXPECT_NE(announced->connection_id, id);
            auto inbound = co_await turn::bind_data_connection(*client, announced->connection_id);
            co_await expect_stream(caller, inbound);
        }

        try {
            co_await turn::bind_data_connection(*client, 0x7fffffff);
            ADD_FAILURE() << "bound an unknown connection id";
        } catch (const Exception& e) {
            // coturn resets the connection rather than answering an unknown id.
            EXPECT_TRUE(e.errc() == Errc::closed || e.errc() == Errc::refused) << e.what();
        }
        co_await client->close();
        EXPECT_TRUE(co_await eventually([&] { return deallocations(coturn) >= 1; }, 3s));
    });
}

TEST(TurnTcpRelay, TwoLoopbackGatesLinkOverTcpThroughOneTcpAllocation) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha_options = test::loopback_gate(dir_a);
        auto bravo_options = test::loopback_gate(dir_b);
        relay_over(alpha_options.conf, broker, coturn, TurnTransport::tcp);
        relay_over(bravo_options.conf, broker, coturn, TurnTransport::tcp);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", alpha_options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", bravo_options);
        // The callee answers each of `burst` messages in turn: a stream keeps them in order.
        constexpr int burst = 5;
        std::shared_ptr<Link> inbound;
        std::vector<std::string> heard;
        bravo.on_link([&, ex = io.get_executor()](Link incoming) {
            inbound = std::make_shared<Link>(std::move(incoming));
            asio::co_spawn(ex, [&heard, link = inbound]() -> asio::awaitable<void> {
                while (heard.size() < burst) {
                    auto m = co_await link->recv(5s);
                    heard.emplace_back(as_chars(m));
                    auto reply = "reply to " + heard.back();
                    co_await link->send(as_bytes(reply));
                }
            }, asio::detached);
        });
        auto begin = Clock::now();
        LinkOptions options{TCP, 10s};
        options.plugins = {"turn"};
        auto link = co_await alpha.connect(bravo.address_text(), options);
        auto linked = Clock::now();
        EXPECT_EQ(link.plugin(), "turn");
        EXPECT_EQ(link.peer_id(), bravo.node().node_id());
        EXPECT_EQ(link.transport(), TCP);
        EXPECT_TRUE(link.relayed());
        EXPECT_EQ(link.remote_endpoint().ip, asio::ip::make_address("127.0.0.1"));
        for (int i = 0; i < burst; ++i) {
            auto text = "message " + std::to_string(i);
            co_await link.send(as_bytes(text));
        }
        Clock::time_point echoed;
        for (int i = 0; i < burst; ++i) {
            auto reply = co_await link.recv(5s);
            if (i == 0) echoed = Clock::now();
            EXPECT_EQ(std::string(as_chars(reply)), "reply to message " + std::to_string(i));
        }
        EXPECT_EQ(heard.size(), std::size_t{burst});
        EXPECT_TRUE(inbound && inbound->relayed()) << "the callee's side is on its data connection";
        EXPECT_TRUE(inbound && inbound->transport() == TCP);
        std::printf("turn over TCP on loopback: linked in %.1f ms, first echo after %.1f ms\n", ms_between(begin, linked),
                    ms_between(begin, echoed));
        EXPECT_EQ(deallocations(coturn), 0u);

        link.close();
        // One allocation, the callee's: it goes when the callee's session hears the close.
        EXPECT_TRUE(co_await eventually([&] { return deallocations(coturn) >= 1; }, 3s)) << "the TCP allocation outlived the link";
        EXPECT_TRUE(co_await eventually([&] { return inbound && !inbound->is_open(); }, 3s));
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(TurnTcpRelay, DeclinedWhenNoServerIsReachedOverTcp) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b, dir_c;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto over_tcp_options = test::loopback_node(dir_a);
        auto over_udp_options = test::loopback_node(dir_b);
        auto over_tls_options = test::loopback_node(dir_c);
        relay_over(over_tcp_options.conf, broker, coturn, TurnTransport::tcp);
        relay_over(over_udp_options.conf, broker, coturn, TurnTransport::udp);
        relay_over(over_tls_options.conf, broker, coturn, TurnTransport::tls);
        auto over_tcp = co_await Node::open(io.get_executor(), over_tcp_options);
        auto over_udp = co_await Node::open(io.get_executor(), over_udp_options);
        auto over_tls = co_await Node::open(io.get_executor(), over_tls_options);
        std::string why;
        auto planned = turn_plugin(*over_tcp).plan(turn_context(*over_tcp), over_udp->node_address(), TCP, why);
        EXPECT_EQ(planned.size(), 1u);
        if (!planned.empty()) {
            EXPECT_EQ(planned.front().describe(), "turn TCP IPv4 external " + coturn.endpoint().to_string());
        }
        EXPECT_TRUE(turn_plugin(*over_udp).plan(turn_context(*over_udp), over_tcp->node_address(), TCP, why).empty());
        EXPECT_EQ(why, "no TURN server gives a TCP relay: " + coturn.endpoint().to_string() +
                           " reached over UDP: a TCP relay needs a TCP connection to the server (RFC 6062)");
        EXPECT_TRUE(turn_plugin(*over_tls).plan(turn_context(*over_tls), over_tcp->node_address(), TCP, why).empty());
        EXPECT_NE(why.find("reached over TLS"), std::string::npos) << why;

        // A callee whose server is reached over UDP only declines the tcp offer, saying why.
        ConnectOptions options{TCP, 5s};
        options.plugins = {"turn"};
        try {
            co_await auto_connect(*over_tcp, over_udp->node_address(), options);
            ADD_FAILURE() << "linked over TCP through a callee without a TCP relay";
        } catch (const ConnectFailure& e) {
            EXPECT_NE(std::string(e.what()).find("the peer declined the TCP relay"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("reached over UDP"), std::string::npos) << e.what();
        }
        EXPECT_EQ(deallocations(coturn), 0u) << "nothing was allocated";
        co_await over_tcp->close();
        co_await over_udp->close();
        co_await over_tls->close();
    });
}

// The initiator's attempt made by hand and never introduced: the callee binds the peer
// connection and hands it to its acceptor, no hello comes, and hello_timeout later the data
// connection is closed (our stream ends) and the allocation deallocated.
TEST(TurnTcpRelay, CalleePeerConnectionWithoutAHelloIsClosedAndDeallocated) {
    test::Mosquitto broker;
    test::TurnServer coturn;
    test::TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha_options = test::loopback_node(dir_a);
        auto bravo_options = test::loopback_node(dir_b);
        relay_over(alpha_options.conf, broker, coturn, TurnTransport::tcp);
        relay_over(bravo_options.conf, broker, coturn, TurnTransport::tcp);
        auto alpha = co_await Node::open(io.get_executor(), alpha_options);
        Node bravo(io.get_executor(), bravo_options);
        traversal::TurnPluginOptions short_wait;
        short_wait.hello_timeout = 500ms;
        bravo.plugins().add(std::make_shared<traversal::TurnPlugin>(short_wait));
        co_await bravo.start();

        std::string why;
        auto planned = turn_plugin(*alpha).plan(turn_context(*alpha), bravo.node_address(), TCP, why);
        EXPECT_EQ(planned.size(), 1u) << why;
        if (planned.empty()) co_return;
        auto attempt = planned.front();
        attempt.con_id[0] = 9;
        auto begin = Clock::now();
        auto reached = co_await turn_plugin(*alpha).attempt(turn_context(*alpha), bravo.node_address(), attempt);
        EXPECT_TRUE(reached.path && reached.path->relayed());
        EXPECT_TRUE(co_await eventually([&] { return deallocations(coturn) >= 1; }, 5s))
            << "the callee's TCP allocation outlived its hello timeout";
        EXPECT_GT(ms_between(begin, Clock::now()), 500.0) << "deallocated before the hello timeout";
        // RFC 6062 §5.3: the allocation's end closes its peer connections: ours ends.
        auto* stream = dynamic_cast<session::TcpPath*>(reached.path.get());
        EXPECT_TRUE(stream);
        if (stream) {
            bool ended = false;
            stream->start([](session::StreamRecord&) -> asio::awaitable<bool> { co_return true; }, [&](Error) { ended = true; }, 1024);
            EXPECT_TRUE(co_await eventually([&] { return ended; }, 3s)) << "our stream through the relay stayed open";
        }
        reached.path->close();
        co_await alpha->close();
        co_await bravo.close();
    });
}
