// reverse_connect between two loopback gates through a real mosquitto broker: the caller asks
// over signaling, the callee dials back, the pipe is matched to the attempt.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"
#include "support/mosquitto.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::test;
using namespace std::chrono_literals;

namespace {

GateOptions signaling_gate(const TempDir& dir, const Mosquitto& broker) {
    auto options = loopback_gate(dir);
    options.conf.mqtt_servers = {broker.host_port()};
    options.conf.sig_pipe_no = 1;
    return options;
}

// Built out here: GCC 12 mishandles braced temporaries inside a co_await expression.
LinkOptions only_reverse(Transport transport) {
    LinkOptions o;
    o.transport = transport;
    o.timeout = 5s;
    o.plugins = {"reverse_connect"};
    return o;
}

ConnectOptions only_reverse_within(std::chrono::milliseconds timeout) {
    ConnectOptions o;
    o.timeout = timeout;
    o.plugins = {"reverse_connect"};
    return o;
}

asio::awaitable<void> echo_links(Gate& gate) {
    gate.on_link([ex = gate.node().get_executor()](Link incoming) {
        asio::co_spawn(ex, [link = std::make_shared<Link>(std::move(incoming))]() -> asio::awaitable<void> {
            try {
                for (;;) {
                    auto m = co_await link->recv(10s);
                    co_await link->send(m);
                }
            } catch (const Exception&) {
            }
        }, asio::detached);
    });
    co_return;
}

}  // namespace

TEST(ReverseConnect, CalleeDialsBackAndThePipeIsMatched) {
    Mosquitto broker;
    TempDir dir;
    std::vector<Transport> transports = {TCP, UDP};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = signaling_gate(dir, broker);
        auto caller = co_await Gate::open(io.get_executor(), "caller", options);
        auto callee = co_await Gate::open(io.get_executor(), "callee", options);
        co_await echo_links(callee);
        for (auto transport : transports) {
            auto link = co_await caller.connect(callee.address_text(), only_reverse(transport));
            EXPECT_EQ(link.plugin(), "reverse_connect");
            EXPECT_EQ(link.transport(), transport);
            EXPECT_EQ(link.peer_id(), callee.node().node_id()) << "the secured pipe is the callee's";
            co_await link.send(as_bytes("ping through the reversed pipe"));
            auto echoed = co_await link.recv(5s);
            EXPECT_EQ(as_chars(echoed), "ping through the reversed pipe");
            EXPECT_TRUE(caller.node().impl().expected.empty()) << "the attempt's expectation was unregistered";
            link.close();
        }
        co_await caller.close();
        co_await callee.close();
    });
}

TEST(ReverseConnect, NotPlannedWithoutSignaling) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto caller = co_await Gate::open(io.get_executor(), "caller", loopback_gate(dir));
        auto callee = co_await Gate::open(io.get_executor(), "callee", signaling_gate(dir, broker));
        bool unreachable = false;
        try {
            co_await caller.connect(callee.address_text(), only_reverse(TCP));
        } catch (const Exception& e) {
            unreachable = e.errc() == Errc::unreachable;
        }
        EXPECT_TRUE(unreachable);
        co_await caller.close();
        co_await callee.close();
    });
}

TEST(ReverseConnect, CancelledAttemptLeavesNoExpectation) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = signaling_gate(dir, broker);
        options.conf.connect_timeout = 10s;
        auto caller = co_await Gate::open(io.get_executor(), "caller", options);
        auto callee = co_await Gate::open(io.get_executor(), "callee", options);
        // The callee is gone: its address still names the broker, but nobody dials back.
        auto callee_address = callee.node().node_address();
        co_await callee.close();
        bool timed_out = false;
        try {
            co_await auto_connect(caller.node(), callee_address, only_reverse_within(1s));
        } catch (const Exception& e) {
            timed_out = e.errc() == Errc::timeout;
        }
        EXPECT_TRUE(timed_out);
        EXPECT_TRUE(caller.node().impl().expected.empty());
        co_await caller.close();
    });
}
