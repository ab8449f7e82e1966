// udp_punch between two loopback gates through a real mosquitto broker: offer, answer and
// instant over signaling, authenticated probes on both listen sockets, one locked 4-tuple,
// the link introduced on it and echoing. And what it leaves behind: no punch registered with
// either demultiplexer once the punch is over.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"
#include "traversal/udp_punch.hpp"
#include "support/gate_helpers.hpp"
#include "support/mosquitto.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::test;
using namespace std::chrono_literals;

namespace {

GateOptions punch_gate(const TempDir& dir, const Mosquitto& broker) {
    auto options = loopback_gate(dir);
    options.conf.mqtt_servers = {broker.host_port()};
    options.conf.sig_pipe_no = 1;
    options.conf.dial_back_loopback = true;  // both on this machine: the dial policy lets the probes go
    return options;
}

// Built out here: GCC 12 mishandles braced temporaries inside a co_await expression.
LinkOptions only_udp_punch() {
    LinkOptions o;
    o.transport = UDP;
    o.timeout = 10s;
    o.plugins = {"udp_punch"};
    return o;
}

const traversal::UdpPunchCounters& counters_of(Gate& gate) {
    return std::static_pointer_cast<traversal::UdpPunch>(gate.node().plugins().find("udp_punch"))->counters();
}

}  // namespace

TEST(UdpPunch, LinksOverTheLockedTupleAndLeavesNothingBehind) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = punch_gate(dir, broker);
        auto caller = co_await Gate::open(io.get_executor(), "caller", options);
        auto callee = co_await Gate::open(io.get_executor(), "callee", options);
        co_await echo_links(callee);
        for (int round = 0; round < 2; ++round) {
            auto link = co_await caller.connect(callee.address_text(), only_udp_punch());
            EXPECT_EQ(link.plugin(), "udp_punch");
            EXPECT_EQ(link.transport(), UDP);
            EXPECT_EQ(link.peer_id(), callee.node().node_id());
            EXPECT_EQ(link.remote_endpoint().port, callee.node().node_address().v4.front().port)
                << "the locked 4-tuple ends at the callee's listen socket";
            co_await link.send(as_bytes("through the punched hole"));
            auto echoed = co_await link.recv(5s);
            EXPECT_EQ(as_chars(echoed), "through the punched hole");
            EXPECT_EQ(caller.node().impl().demux->punches(), 0u) << "the offerer's tap went with its attempt";
            link.close();
        }
        auto& offered = counters_of(caller);
        auto& answered = counters_of(callee);
        EXPECT_EQ(offered.offers, 2u);
        EXPECT_EQ(offered.locked, 2u);
        EXPECT_GT(offered.probes_sent, 0u);
        EXPECT_EQ(answered.answered, 2u);
        EXPECT_GT(answered.probes_sent, 0u);
        EXPECT_EQ(offered.sockets_opened + answered.sockets_opened, 0u) << "a plain punch opens no socket";
        auto callee_done = co_await eventually([&] { return callee.node().impl().demux->punches() == 0; }, 10s);
        EXPECT_TRUE(callee_done) << "the answerer's tap goes when its window ends";
        co_await caller.close();
        co_await callee.close();
    });
}

TEST(UdpPunch, NotPlannedForTcpOrWithoutSignaling) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto caller = co_await Gate::open(io.get_executor(), "caller", loopback_gate(dir));
        auto callee = co_await Gate::open(io.get_executor(), "callee", punch_gate(dir, broker));
        auto plugin = caller.node().plugins().find("udp_punch");
        std::string why_not;
        auto& ctx = caller.node().impl().context_for(*plugin);
        EXPECT_TRUE(plugin->plan(ctx, callee.node().node_address(), TCP, why_not).empty());
        EXPECT_EQ(why_not, "UDP only");
        why_not.clear();
        EXPECT_TRUE(plugin->plan(ctx, callee.node().node_address(), UDP, why_not).empty());
        EXPECT_EQ(why_not, "signaling is off");
        co_await caller.close();
        co_await callee.close();
    });
}
