// reverse_connect between two loopback gates through a real mosquitto broker: the caller asks
// over signaling, the callee dials back, the pipe is matched to the attempt. And a signed but
// hostile requester: the callee dials no target the dial policy refuses, and no more often
// than its rate limits allow.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "net/timeout.hpp"
#include "node/node_impl.hpp"
#include "signal/signal_router.hpp"
#include "traversal/reverse_connect.hpp"
#include "support/gate_helpers.hpp"
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

// Two gates on one machine: the callee may dial loopback (dial_back_loopback).
GateOptions same_machine_gate(const TempDir& dir, const Mosquitto& broker) {
    auto options = signaling_gate(dir, broker);
    options.conf.dial_back_loopback = true;
    return options;
}

// The requester's own node address (its key, so the callee accepts it as the signer's), with
// the entries replaced by `targets`, and the callee's machine id (a claim nobody checks).
Bytes forged_address(Gate& requester, Gate& callee, const std::vector<Endpoint>& targets) {
    NodeAddress forged = requester.node().node_address();
    forged.machine_id = callee.node().node_address().machine_id;
    forged.v4.clear();
    for (auto& t : targets) forged.v4.push_back({1, t.ip, 8, t.ip, t.port, NatInfo{}});
    return value_or_throw(serialize(forged));
}

asio::awaitable<void> send_connect_back(Gate& requester, Gate& callee, Bytes caller_address, std::uint8_t id) {
    traversal::ConnectBack request;
    request.con_id.fill(id);
    request.transport = TCP;
    request.caller_address = std::move(caller_address);
    auto payload = traversal::encode_connect_back(request);
    auto signaling = requester.node().impl().signaling;
    std::vector<HostPort> brokers;
    co_await signaling->send(callee.node().node_address().public_key, brokers, signal::SignalType::connect_back, payload);
}

// Connections the listening socket accepts until `quiet` passes without one (each kept open).
asio::awaitable<std::size_t> count_connections(asio::ip::tcp::acceptor& acceptor, std::chrono::milliseconds quiet) {
    std::vector<asio::ip::tcp::socket> accepted;
    for (;;) {
        try {
            auto socket = co_await net::with_timeout(acceptor.async_accept(asio::use_awaitable), quiet, "accept");
            accepted.push_back(std::move(socket));
        } catch (const Exception& e) {
            if (e.errc() == Errc::timeout) break;
            throw;
        }
    }
    co_return accepted.size();
}

// Lists built out here: GCC 12 cannot keep an initializer list in a coroutine frame.
std::vector<Endpoint> forbidden_targets(std::uint16_t port) {
    return {{ip("127.0.0.1"), port}, {ip("10.77.0.5"), port}, {ip("0.0.0.0"), port}};
}
std::vector<Endpoint> loopback_target(std::uint16_t port) { return {{ip("127.0.0.1"), port}}; }
asio::ip::tcp::endpoint any_loopback_port() { return {asio::ip::address_v4::loopback(), 0}; }

const traversal::ConnectBackGuard& guard_of(Gate& gate) {
    auto plugin = std::static_pointer_cast<traversal::ReverseConnect>(gate.node().plugins().find("reverse_connect"));
    return *plugin->guard();
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

}  // namespace

TEST(ReverseConnect, CalleeDialsBackAndThePipeIsMatched) {
    Mosquitto broker;
    TempDir dir;
    std::vector<Transport> transports = {TCP, UDP};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = same_machine_gate(dir, broker);
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

TEST(ReverseConnect, LoopbackIsNotDialedByDefault) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto caller = co_await Gate::open(io.get_executor(), "caller", signaling_gate(dir, broker));
        auto callee = co_await Gate::open(io.get_executor(), "callee", signaling_gate(dir, broker));
        bool failed = false;
        try {
            co_await caller.connect(callee.address_text(), only_reverse(TCP));
        } catch (const Exception&) {
            failed = true;
        }
        EXPECT_TRUE(failed) << "without dial_back_loopback the callee must not dial the caller on loopback";
        EXPECT_GE(guard_of(callee).refusals().count("loopback"), 1u);
        EXPECT_EQ(guard_of(callee).counters().targets_dialed, 0u);
        co_await caller.close();
        co_await callee.close();
    });
}

TEST(ReverseConnect, ForgedLoopbackAndLanTargetsAreNotDialed) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto attacker = co_await Gate::open(io.get_executor(), "attacker", signaling_gate(dir, broker));
        auto callee = co_await Gate::open(io.get_executor(), "callee", signaling_gate(dir, broker));
        // A local service the attacker would like the callee to connect to.
        asio::ip::tcp::acceptor service(io, any_loopback_port());
        auto address = forged_address(attacker, callee, forbidden_targets(service.local_endpoint().port()));
        co_await send_connect_back(attacker, callee, address, 1);

        auto& guard = guard_of(callee);
        auto judged = co_await eventually([&] { return guard.refusals().count("private_not_ours") > 0; }, 10s);
        EXPECT_TRUE(judged) << "the callee never handled the request";
        EXPECT_EQ(guard.counters().requests, 1u);
        EXPECT_EQ(guard.counters().admitted, 1u);
        EXPECT_GE(guard.refusals().count("loopback"), 1u) << "the loopback target (claimed same machine too)";
        EXPECT_EQ(guard.refusals().count("private_not_ours"), 1u) << "the LAN target this node is not on";
        EXPECT_EQ(guard.refusals().count("unspecified"), 1u);
        auto connections = co_await count_connections(service, 1500ms);
        EXPECT_EQ(connections, 0u) << "the callee connected to the loopback service";
        EXPECT_EQ(guard.counters().targets_dialed, 0u);
        EXPECT_EQ(guard.in_progress(), 0u);
        co_await attacker.close();
        co_await callee.close();
    });
}

TEST(ReverseConnect, AFloodFromOneKeyIsRateLimited) {
    Mosquitto broker;
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto attacker = co_await Gate::open(io.get_executor(), "attacker", signaling_gate(dir, broker));
        auto options = same_machine_gate(dir, broker);  // loopback allowed: the dials can be counted
        options.conf.connect_back_per_key_window = 60s;  // no refill while the test runs
        auto callee = co_await Gate::open(io.get_executor(), "callee", options);
        asio::ip::tcp::acceptor service(io, any_loopback_port());
        auto address = forged_address(attacker, callee, loopback_target(service.local_endpoint().port()));
        constexpr std::size_t flood = 10;
        for (std::size_t i = 0; i < flood; ++i) co_await send_connect_back(attacker, callee, address, static_cast<std::uint8_t>(i));

        auto& guard = guard_of(callee);
        auto all_handled = co_await eventually([&] { return guard.counters().requests == flood; }, 10s);
        EXPECT_TRUE(all_handled) << guard.counters().requests << " of " << flood << " requests handled";
        auto connections = co_await count_connections(service, 1500ms);
        EXPECT_EQ(connections, 3u) << "the per-key burst is 3";
        EXPECT_EQ(guard.counters().admitted, 3u);
        EXPECT_EQ(guard.counters().targets_dialed, 3u);
        EXPECT_EQ(guard.refusals().count("rate_limited_key"), flood - 3);
        co_await attacker.close();
        co_await callee.close();
    });
}
