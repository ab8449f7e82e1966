// tcp_punch between two loopback gates through a real mosquitto broker: offer, answer, go and
// a simultaneous open of the two listen ports, the responder's end served by its acceptor
// (PluginContext::accept_path). And the context's fresh_mapping against a real coturn.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"
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
