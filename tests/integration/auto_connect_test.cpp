#include <gtest/gtest.h>

#include <asio.hpp>
#include <iostream>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "support/gate_helpers.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"
#include "traversal/direct_connect.hpp"

using namespace warpgate;
using namespace warpgate::test;

namespace {

Bytes pattern(std::size_t n, int seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + seed);
    return b;
}

struct Case {
    Transport transport;
    const char* ip;
};

class AutoConnect : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(AutoConnect, TwoGatesTalkThroughDirectConnect) {
    // Copies, not structured bindings: clang 14 cannot capture those in the lambda below.
    auto transport = GetParam().transport;
    auto address = GetParam().ip;
    if (std::string_view(address) == "::1" && !has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback here";
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir, address);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        EXPECT_NE(alpha.node().node_id(), bravo.node().node_id());
        co_await echo_links(bravo);
        auto link = co_await alpha.connect(bravo.address_text(), {transport, std::chrono::seconds(5)});
        EXPECT_EQ(link.plugin(), "direct_connect");
        EXPECT_EQ(link.transport(), transport);
        std::vector<std::size_t> sizes = {1, 1000, 60000};
        if (transport == TCP) sizes.insert(sizes.end(), {300000, 1024 * 1024});
        for (std::size_t i = 0; i < sizes.size(); ++i) co_await link.send(pattern(sizes[i], int(i)));
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            auto m = co_await link.recv(std::chrono::seconds(5));
            EXPECT_EQ(m, pattern(sizes[i], int(i))) << sizes[i] << " bytes";
        }
        link.close();
        co_await alpha.close();
        co_await bravo.close();
    });
}

INSTANTIATE_TEST_SUITE_P(Loopback, AutoConnect,
                         ::testing::Values(Case{TCP, "127.0.0.1"}, Case{UDP, "127.0.0.1"}, Case{TCP, "::1"}, Case{UDP, "::1"}),
                         [](const auto& info) {
                             return std::string(to_string(info.param.transport)) + (std::string_view(info.param.ip) == "::1" ? "IPv6" : "IPv4");
                         });

TEST(AutoConnectFailures, ClosingEitherSideEndsTheOthersRecv) {
    TempDir dir;
    std::vector<Transport> transports = {TCP, UDP};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        for (auto transport : transports) {
            auto outbound = co_await alpha.connect(bravo.node().node_address(), {transport, std::chrono::seconds(5)});
            auto inbound = co_await bravo.accept(std::chrono::seconds(5));
            co_await outbound.send(std::string_view("ping"));
            auto got = co_await inbound.recv(std::chrono::seconds(5));
            EXPECT_EQ(got, to_bytes("ping"));
            inbound.close();  // the accepting side ends it
            try {
                co_await outbound.recv(std::chrono::seconds(5));
                ADD_FAILURE() << "recv went on after the peer closed";
            } catch (const Exception& e) {
                EXPECT_EQ(e.errc(), Errc::closed) << e.what();
            }
        }
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(AutoConnectFailures, NobodyListeningIsUnreachableWithReasons) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto b = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto peer = b->node_address();
        co_await b->close();  // its port is now closed
        try {
            co_await auto_connect(*a, peer, {TCP, std::chrono::seconds(5)});
            ADD_FAILURE() << "connected to a closed node";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::unreachable);
            EXPECT_NE(std::string(e.what()).find("direct_connect TCP IPv4"), std::string::npos) << e.what();
        }
        co_await a->close();
    });
}

TEST(AutoConnectFailures, SilentPeerTimesOutAndLeavesNothingOpen) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        // Accepts TCP but never answers the liveness ping: a "connected" but dead peer.
        asio::ip::tcp::acceptor silent(io, {ip("127.0.0.1"), 0});
        auto peer = a->node_address();
        peer.machine_id[0] ^= 1;  // another machine: no loopback shortcut to our own port
        for (auto& e : peer.v4) e.port = silent.local_endpoint().port();
        auto begin = std::chrono::steady_clock::now();
        try {
            co_await auto_connect(*a, peer, {TCP, std::chrono::milliseconds(300)});
            ADD_FAILURE() << "a silent peer passed the liveness check";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::timeout) << e.what();
        }
        EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
        // The attempt's socket was closed: the silent side reads end-of-stream.
        auto accepted = co_await silent.async_accept(asio::use_awaitable);
        std::vector<char> buf(64);
        asio::error_code ec;
        for (;;) {
            co_await accepted.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
        }
        EXPECT_EQ(ec, asio::error::eof);
        co_await a->close();
    });
}

TEST(AutoConnectFailures, CancellationStopsEveryAttempt) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        asio::ip::tcp::acceptor silent(io, {ip("127.0.0.1"), 0});
        auto peer = a->node_address();
        peer.machine_id[0] ^= 1;
        for (auto& e : peer.v4) e.port = silent.local_endpoint().port();
        asio::steady_timer stop(io, std::chrono::milliseconds(100));
        auto winner = co_await (auto_connect(*a, peer, {TCP, std::chrono::seconds(30)}) ||
                                stop.async_wait(asio::use_awaitable));
        EXPECT_EQ(winner.index(), 1u);  // the timer won; auto_connect was cancelled
        co_await a->close();
    });  // returns only when no task or socket is left: a leak would hang here
}

TEST(AutoConnectFailures, BadDestinationsAreRejected) {
    TempDir dir;
    std::vector<std::string> bad_addresses = {"", "wg1", "wg1aaaa", "hello"};
    ConnectOptions unknown_plugin{TCP, std::chrono::seconds(1)};
    unknown_plugin.plugins = {"no_such_plugin"};
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        for (auto& bad : bad_addresses) {
            try {
                co_await auto_connect(*a, std::string_view(bad), {});
                ADD_FAILURE() << "accepted " << bad;
            } catch (const Exception& e) {
                EXPECT_EQ(e.errc(), Errc::malformed);
            }
        }
        try {
            co_await auto_connect(*a, a->node_address(), unknown_plugin);
            ADD_FAILURE() << "accepted an unknown plugin";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::config);
        }
        co_await a->close();
    });
}

namespace {

// A plugin whose one attempt waits `delay` and then fails (or ends early when cancelled): a
// slow strategy the race must not wait for.
class SlowPlugin final : public Plugin {
public:
    SlowPlugin(std::string name, Phase phase, std::chrono::milliseconds delay) : name_(std::move(name)), phase_(phase), delay_(delay) {}
    std::string_view name() const override { return name_; }
    Phase phase() const override { return phase_; }
    std::vector<Attempt> plan(PluginContext&, const NodeAddress&, Transport transport, std::string&) override {
        return {Attempt{name_, transport, IP4, Route::external, Endpoint{ip("127.0.0.1"), 9}, {}}};
    }
    asio::awaitable<Reached> attempt(PluginContext&, const NodeAddress&, Attempt) override {
        asio::steady_timer timer(co_await asio::this_coro::executor, delay_);
        asio::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) throw Exception(Errc::cancelled, name_ + " cancelled");
        throw Exception(Errc::timeout, name_ + " gave up");
    }

private:
    std::string name_;
    Phase phase_;
    std::chrono::milliseconds delay_;
};

// A later-phase plugin that really connects: direct_connect's plan and attempt under another
// name and phase.
class LatePhasePlugin final : public Plugin {
public:
    LatePhasePlugin(std::string name, Phase phase) : name_(std::move(name)), phase_(phase) {}
    std::string_view name() const override { return name_; }
    Phase phase() const override { return phase_; }
    std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) override {
        return direct_.plan(ctx, peer, transport, why_not);
    }
    asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) override {
        auto reached = co_await direct_.attempt(ctx, peer, std::move(attempt));
        co_return reached;
    }

private:
    std::string name_;
    Phase phase_;
    traversal::DirectConnect direct_;
};

const AttemptReport& report_of(const ConnectResult& result, std::string_view plugin) {
    for (auto& phase : result.phases)
        for (auto& a : phase.attempts)
            if (a.attempt.starts_with(plugin)) return a;
    throw std::runtime_error("no report for " + std::string(plugin));
}

const PluginReport& verdict_of(const std::vector<PluginReport>& plugins, std::string_view plugin) {
    for (auto& p : plugins)
        if (p.plugin == plugin) return p;
    throw std::runtime_error("no verdict for " + std::string(plugin));
}

// A TCP and UDP port on 127.0.0.1 nobody listens on (bound once, then closed).
std::uint16_t closed_port(asio::io_context& io) {
    asio::ip::tcp::acceptor a(io, {ip("127.0.0.1"), 0});
    asio::ip::udp::socket u(io, {ip("127.0.0.1"), a.local_endpoint().port()});
    return a.local_endpoint().port();
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(AutoConnectRace, LaterPhaseStartsBeforeASlowDirectAttemptEnds) {
    TempDir dir;
    ConnectOptions race{TCP, std::chrono::seconds(5)};
    race.plugins = {"slow_direct", "late_punch"};
    race.stagger = std::chrono::milliseconds(150);
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        alpha.node().plugins().add(std::make_shared<SlowPlugin>("slow_direct", Phase::direct, std::chrono::seconds(3)));
        alpha.node().plugins().add(std::make_shared<LatePhasePlugin>("late_punch", Phase::punch));
        auto begin = std::chrono::steady_clock::now();
        auto result = co_await auto_connect(alpha.node(), bravo.node().node_address(), race);
        auto took = ms_since(begin);
        EXPECT_EQ(result.plugin, "late_punch");
        EXPECT_LT(took, 1000) << "the race waited for the slow direct attempt";
        auto& late = report_of(result, "late_punch");
        EXPECT_EQ(late.planned_delay, std::chrono::milliseconds(150));
        EXPECT_TRUE(late.started);
        EXPECT_GE(late.started.value_or(std::chrono::microseconds(0)), std::chrono::milliseconds(150));
        EXPECT_TRUE(late.won);
        auto& slow = report_of(result, "slow_direct");
        EXPECT_EQ(slow.planned_delay, std::chrono::milliseconds(0));
        EXPECT_EQ(slow.outcome, "cancelled: another attempt won");
        EXPECT_EQ(verdict_of(result.plugins, "late_punch").verdict, PluginVerdict::won);
        EXPECT_EQ(verdict_of(result.plugins, "slow_direct").verdict, PluginVerdict::lost);
        std::cout << "later phase won after " << took << " ms (stagger 150 ms)\n";
        result.pipe->close();
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(AutoConnectRace, AnEarlyFailureStartsTheNextPhaseAtOnce) {
    TempDir dir;
    ConnectOptions race{UDP, std::chrono::seconds(5)};
    race.plugins = {"fails_fast", "late_relay"};
    race.stagger = std::chrono::seconds(2);
    race.relay_after = std::chrono::seconds(4);  // the relay phase not moved up to half the budget
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        alpha.node().plugins().add(std::make_shared<SlowPlugin>("fails_fast", Phase::direct, std::chrono::milliseconds(0)));
        alpha.node().plugins().add(std::make_shared<LatePhasePlugin>("late_relay", Phase::relay));
        auto result = co_await auto_connect(alpha.node(), bravo.node().node_address(), race);
        EXPECT_EQ(result.plugin, "late_relay");
        auto& late = report_of(result, "late_relay");
        EXPECT_EQ(late.planned_delay, std::chrono::seconds(2));
        EXPECT_TRUE(late.started);
        EXPECT_LT(late.started.value_or(std::chrono::hours(1)), std::chrono::milliseconds(100)) << "waited out the stagger after everything before had failed";
        EXPECT_EQ(verdict_of(result.plugins, "fails_fast").verdict, PluginVerdict::failed);
        EXPECT_EQ(verdict_of(result.plugins, "fails_fast").reason, "timed out: fails_fast gave up");
        result.pipe->close();
        co_await alpha.close();
        co_await bravo.close();
    });
}

TEST(AutoConnectRace, RefusedConnectFailsAtOnce) {
    TempDir dir;
    ConnectOptions only_direct{TCP, std::chrono::seconds(5)};
    only_direct.plugins = {"direct_connect"};
    std::vector<Transport> transports = {TCP, UDP};  // (outside: no initializer list in a coroutine frame)
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto peer = a->node_address();
        peer.machine_id[0] ^= 1;  // another machine: no loopback shortcut to our own port
        auto port = closed_port(io);
        for (auto& e : peer.v4) e.port = port;
        for (auto transport : transports) {
            auto begin = std::chrono::steady_clock::now();
            try {
                only_direct.transport = transport;
                co_await auto_connect(*a, peer, only_direct);
                ADD_FAILURE() << "connected to a closed port";
            } catch (const ConnectFailure& e) {
                auto took = ms_since(begin);
                std::cout << to_string(transport) << " refused connect failed after " << took << " ms\n";
                EXPECT_EQ(e.errc(), Errc::unreachable) << e.what();
                EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
                EXPECT_EQ(std::string(e.what()).find("multiple exceptions"), std::string::npos) << e.what();
                auto& direct = verdict_of(e.plugins, "direct_connect");
                EXPECT_EQ(direct.verdict, PluginVerdict::failed);
                if (transport == TCP) {
                    EXPECT_LT(took, 50) << e.what();
                    EXPECT_EQ(direct.reason, "refused: connection refused by 127.0.0.1:" + std::to_string(port) + " (nothing listening)");
                } else {
                    EXPECT_LT(took, 500) << e.what();  // the ICMP port unreachable ends it
                    EXPECT_NE(direct.reason.find("refused"), std::string::npos) << direct.reason;
                }
            }
        }
        co_await a->close();
    });
}

TEST(AutoConnectRace, FailureReportsSayWhyPerPlugin) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto b = co_await Node::open(io.get_executor(), loopback_node(dir));
        auto peer = b->node_address();
        co_await b->close();
        try {
            co_await auto_connect(*a, peer, {TCP, std::chrono::seconds(5)});
            ADD_FAILURE() << "connected to a closed node";
        } catch (const ConnectFailure& e) {
            std::string text = e.what();
            EXPECT_EQ(e.errc(), Errc::unreachable);
            // The test preset has no signaling: reverse_connect plans nothing and says why.
            auto& reverse = verdict_of(e.plugins, "reverse_connect");
            EXPECT_EQ(reverse.verdict, PluginVerdict::skipped);
            EXPECT_EQ(reverse.reason, "signaling is off");
            EXPECT_NE(text.find("reverse_connect: skipped (signaling is off)"), std::string::npos) << text;
            auto& direct = verdict_of(e.plugins, "direct_connect");
            EXPECT_EQ(direct.verdict, PluginVerdict::failed);
            EXPECT_NE(text.find("direct_connect: failed (refused: connection refused by"), std::string::npos) << text;
            EXPECT_EQ(e.phases.size(), 1u);
            for (auto& attempt : e.phases.at(0).attempts) {
                EXPECT_EQ(attempt.planned_delay, std::chrono::milliseconds(0));
                EXPECT_TRUE(attempt.started);
                EXPECT_TRUE(attempt.skip_reason.empty());
            }
        }
        co_await a->close();
    });
}
