// tcp_punch between two loopback gates through a real mosquitto broker: offer, answer, go and
// a simultaneous open of the two listen ports, the responder's end served by its acceptor
// (PluginContext::accept_path). And the context's fresh_mapping against a real coturn.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "crypto/random.hpp"
#include "node/node_impl.hpp"
#include "net/servers.hpp"
#include "session/path.hpp"
#include "support/mosquitto.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"
#include "support/stun_servers.hpp"

using namespace warpgate;
using namespace warpgate::test;
using namespace std::chrono_literals;

namespace {

GateOptions punching_gate(const TempDir& dir, const Mosquitto& broker) {
    auto options = loopback_gate(dir);
    options.conf.mqtt_servers = {broker.host_port()};
    options.conf.sig_pipe_no = 1;
    options.conf.dial_back_loopback = true;  // the responder dials the initiator's loopback ports
    return options;
}

PluginContext& context_of(Gate& gate, std::string_view plugin) {
    auto& impl = gate.node().impl();
    return impl.context_for(*impl.plugins.find(plugin));
}

}  // namespace

TEST(TcpPunch, TwoLoopbackGatesLinkBySimultaneousOpen) {
    Mosquitto broker;
    TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", punching_gate(dir_a, broker));
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", punching_gate(dir_b, broker));
        bravo.on_link([ex = io.get_executor()](Link incoming) {
            asio::co_spawn(ex, [link = std::make_shared<Link>(std::move(incoming))]() -> asio::awaitable<void> {
                auto m = co_await link->recv(5s);
                co_await link->send(m);
            }, asio::detached);
        });
        // (GCC 12: no braced temporaries inside a co_await expression.)
        LinkOptions options{TCP, 5s};
        options.plugins = {"tcp_punch"};
        auto link = co_await alpha.connect(bravo.address_text(), options);
        EXPECT_EQ(link.plugin(), "tcp_punch");
        EXPECT_EQ(link.peer_id(), bravo.node().node_id());
        std::string text = "punched";
        co_await link.send(as_bytes(text));
        auto reply = co_await link.recv(5s);
        EXPECT_EQ(std::string(as_chars(reply)), "punched");
        link.close();
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(TcpPunch, DeclinesUdpAndMissingSignalingUpFront) {
    Mosquitto broker;
    TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", loopback_gate(dir_a));  // no broker
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", punching_gate(dir_b, broker));
        auto& impl = alpha.node().impl();
        auto plugin = impl.plugins.find("tcp_punch");
        std::string why;
        EXPECT_TRUE(plugin->plan(context_of(alpha, "tcp_punch"), bravo.node().node_address(), TCP, why).empty());
        EXPECT_EQ(why, "signaling is off");
        auto& bravo_impl = bravo.node().impl();
        why.clear();
        EXPECT_TRUE(bravo_impl.plugins.find("tcp_punch")->plan(context_of(bravo, "tcp_punch"), alpha.node().node_address(), UDP, why).empty());
        EXPECT_EQ(why, "tcp_punch punches TCP only");
        co_await alpha.close();
        co_await bravo.close();
    });
}

// The half of a simultaneous open that loses the race: the peer's connect from its listen
// port reached ours and was accepted (it waits there for a hello, as the peer, the punch's
// responder, sends none) before our own connect from the listen port, which then fails on
// the 4-tuple. The claim takes that accepted connection, and the link is introduced on it.
TEST(TcpPunch, ClaimTakesTheConnectionAcceptedBeforeOurConnect) {
    TempDir dir_a, dir_b;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", loopback_gate(dir_a));
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", loopback_gate(dir_b));
        auto& alpha_ctx = context_of(alpha, "tcp_punch");
        auto& bravo_ctx = context_of(bravo, "tcp_punch");
        auto& alpha_acceptor = *alpha.node().impl().acceptor;
        Endpoint alpha_listen = alpha.node().impl().tcp_servers.front()->local_endpoint();
        Endpoint bravo_listen = bravo.node().impl().tcp_servers.front()->local_endpoint();

        // The peer's SYN lands on our listener first: our listener accepts, the peer's end
        // goes to its own acceptor (as tcp_punch's responder does).
        auto theirs = co_await bravo_ctx.dial_from_listen_port(TCP, alpha_listen);
        bravo_ctx.accept_path(theirs);
        asio::steady_timer poll(io);
        for (int i = 0; i < 200 && alpha_acceptor.pending_tcp() == 0; ++i) {
            poll.expires_after(10ms);
            co_await poll.async_wait(asio::use_awaitable);
        }
        EXPECT_EQ(alpha_acceptor.pending_tcp(), 1u);

        // Our connect from the listen port to the same 4-tuple fails.
        try {
            co_await alpha_ctx.dial_from_listen_port(TCP, bravo_listen);
            ADD_FAILURE() << "connected twice on one 4-tuple";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::address_in_use) << e.what();
        }

        // The claim, made after the accept, gets that connection at once.
        PathPtr claimed;
        auto claim = alpha_ctx.claim_inbound(bravo_listen, [&claimed](PathPtr path) { claimed = std::move(path); });
        if (!claimed) {
            ADD_FAILURE() << "the claim did not take the accepted connection";
            co_return;
        }
        EXPECT_EQ(claimed->remote(), bravo_listen);
        EXPECT_EQ(alpha_acceptor.pending_tcp(), 0u);

        // And is introduced like a connection of ours: both ends get the link.
        ConnectionId con_id{};
        crypto::random_bytes(con_id);
        co_await alpha_ctx.dial_back(claimed, bravo.node().node_address(), con_id);
        auto ours = co_await alpha.accept(5s);
        auto at_bravo = co_await bravo.accept(5s);
        EXPECT_EQ(ours.peer_id(), bravo.node().node_id());
        std::string text = "claimed";
        co_await ours.send(as_bytes(text));
        auto got = co_await at_bravo.recv(5s);
        EXPECT_EQ(std::string(as_chars(got)), "claimed");
        co_await at_bravo.send(got);
        auto reply = co_await ours.recv(5s);
        EXPECT_EQ(std::string(as_chars(reply)), "claimed");
        ours.close();
        at_bravo.close();
        co_await alpha.close();
        co_await bravo.close();
    });
}

class TcpPunchStun : public CoturnSuite {};

TEST_F(TcpPunchStun, FreshMappingsComeFromNewSocketsOverTcpAndUdp) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        options.conf.enable_stun_clients = true;
        options.conf.stun_servers = {coturn->host_port()};
        auto gate = co_await Gate::open(io.get_executor(), "alpha", options);
        auto& ctx = context_of(gate, "tcp_punch");
        auto listen_port = gate.node().node_address().v4.front().port;
        auto first = co_await ctx.fresh_mapping(TCP, IP4);
        auto second = co_await ctx.fresh_mapping(TCP, IP4);
        auto udp = co_await ctx.fresh_mapping(UDP, IP4);
        // No NAT on loopback: each mapping is its fresh socket's own address.
        EXPECT_EQ(first.ip, asio::ip::make_address("127.0.0.1"));
        EXPECT_NE(first.port, listen_port);
        EXPECT_NE(first.port, second.port);
        EXPECT_NE(udp.port, listen_port);
        co_await gate.close();
    });
}

TEST(TcpPunchStunOff, FreshMappingSaysWhyWithoutStun) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto gate = co_await Gate::open(io.get_executor(), "alpha", loopback_gate(dir));
        auto& ctx = context_of(gate, "tcp_punch");
        try {
            co_await ctx.fresh_mapping(TCP, IP4);
            ADD_FAILURE() << "a fresh mapping without STUN servers";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::unreachable);
            EXPECT_NE(std::string(e.what()).find("STUN"), std::string::npos) << e.what();
        }
        co_await gate.close();
    });
}
