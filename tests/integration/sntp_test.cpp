// The SNTP client and the node's clock against real chronyd servers on loopback (their clock
// is this machine's, so the true offset is 0 and an injected one is known), a closed port, a
// silent socket, and hostile fake servers.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <warpgate/node.hpp>

#include "node/clock.hpp"
#include "proto/ntp.hpp"
#include "proto/sntp_client.hpp"
#include "support/chrony.hpp"
#include "support/free_port.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"
#include "support/temp_dir.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using warpgate::test::run_async;
using Steady = std::chrono::steady_clock;

namespace {

class Sntp : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        for (auto& c : chrony) c = std::make_unique<test::Chrony>();
    }
    static void TearDownTestSuite() {
        for (auto& c : chrony) c.reset();
    }
    static std::vector<HostPort> servers() { return {chrony[0]->host_port(), chrony[1]->host_port(), chrony[2]->host_port()}; }
    static inline std::array<std::unique_ptr<test::Chrony>, 3> chrony;
};

sntp::Options quick() {
    sntp::Options o;
    o.timeout = 400ms;
    o.rto = 60ms;
    return o;
}

double ms(ntp::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

enum class Misbehaviour { wrong_origin, kiss_deny, client_mode, oversized, falseticker };

// A fake server on a test socket: a well-formed reply to every request, spoilt one way.
asio::awaitable<void> fake_server(asio::ip::udp::socket& socket, Misbehaviour how) {
    std::array<std::uint8_t, 512> buffer;
    asio::ip::udp::endpoint from;
    for (;;) {
        auto size = co_await socket.async_receive_from(asio::buffer(buffer), from, asio::use_awaitable);
        auto request = ntp::decode(ByteView(buffer.data(), size));
        if (!request) continue;
        ntp::Packet p;
        p.mode = 4;
        p.stratum = 2;
        p.origin = request->transmit;
        auto now = ntp::WallTime(std::chrono::system_clock::now());
        if (how == Misbehaviour::falseticker) now += 10s;
        p.receive = p.transmit = ntp::to_timestamp(now);
        if (how == Misbehaviour::wrong_origin) p.origin.seconds += 1;
        if (how == Misbehaviour::kiss_deny) {
            p.stratum = 0;
            p.reference_id = 0x44454E59;  // "DENY"
        }
        if (how == Misbehaviour::client_mode) p.mode = 3;
        auto reply = ntp::encode(p);
        if (how == Misbehaviour::oversized) reply.resize(ntp::packet_size + 20);  // a MAC we never asked for
        co_await socket.async_send_to(asio::buffer(reply), from, asio::use_awaitable);
    }
}

// measure() with a fake server running beside it; the fake ends when measure() does.
Result<sntp::Measurement> measure_with_fake(Misbehaviour how, std::vector<HostPort> real) {
    return run_async([&](asio::io_context& io) -> asio::awaitable<Result<sntp::Measurement>> {
        asio::ip::udp::socket socket(io, {asio::ip::make_address("127.0.0.1"), 0});
        auto servers = real;
        servers.push_back({"127.0.0.1", socket.local_endpoint().port()});
        auto both = co_await (sntp::measure(io.get_executor(), servers, quick()) || fake_server(socket, how));
        co_return std::get<0>(std::move(both));
    });
}

}  // namespace

TEST_F(Sntp, ThreeChronydsAgreeWithThisMachine) {
    auto m = run_async([](asio::io_context& io) { return sntp::measure(io.get_executor(), servers(), quick()); });
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->used, 3u) << m->describe();
    for (auto& s : m->servers) {
        ASSERT_TRUE(s.best) << s.describe();
        EXPECT_EQ(s.best->stratum, 8);
        EXPECT_EQ(s.samples, 3) << s.describe();
        EXPECT_LT(s.best->delay, 50ms);
    }
    // Same clock on both ends: the true offset is zero and must lie within the bound.
    EXPECT_LE(std::chrono::abs(m->offset), m->uncertainty + 100us) << m->describe();
    EXPECT_LT(m->uncertainty, 50ms) << m->describe();
    std::printf("[ measured ] %s\n", m->describe().c_str());
}

TEST_F(Sntp, InjectedOffsetIsCorrectedWithinTheStatedUncertainty) {
    for (auto injected : {250ms, -1500ms}) {
        node::ClockOptions options;
        options.servers = servers();
        options.sntp = quick();
        options.injected_offset = injected;
        node::Clock clock(options);
        auto before = ntp::WallTime(std::chrono::system_clock::now());
        EXPECT_GE(clock.now() - before, injected);  // unsynced: the skewed local reading
        auto m = run_async([&](asio::io_context& io) { return clock.sync(io.get_executor()); });
        ASSERT_TRUE(m) << m.error().message;
        auto u = *clock.uncertainty();
        EXPECT_LE(std::chrono::abs(m->offset + injected), u) << m->describe();
        auto a = ntp::WallTime(std::chrono::system_clock::now());
        auto corrected = clock.now();
        auto b = ntp::WallTime(std::chrono::system_clock::now());
        EXPECT_GE(corrected, a - u);
        EXPECT_LE(corrected, b + u);
        EXPECT_TRUE(clock.fresh());
        std::printf("[ measured ] injected %+lld ms: %s\n", static_cast<long long>(injected.count()), m->describe().c_str());
        // A fresh measurement is reused; force measures again.
        auto cached = run_async([&](asio::io_context& io) { return clock.sync(io.get_executor()); });
        EXPECT_EQ(cached->measured, m->measured);
        auto forced = run_async([&](asio::io_context& io) { return clock.sync(io.get_executor(), true); });
        EXPECT_GT(forced->measured, m->measured);
    }
}

TEST_F(Sntp, DeadServersCostAtMostTheTimeoutAndAreNamed) {
    asio::io_context probe_io;
    // A socket that never reads: requests vanish without an ICMP error (a silent server).
    asio::ip::udp::socket silent(probe_io, {asio::ip::make_address("127.0.0.1"), 0});
    auto closed_port = test::free_port();
    std::vector<HostPort> list{chrony[0]->host_port(), {"127.0.0.1", closed_port}, {"127.0.0.1", silent.local_endpoint().port()}};
    auto begin = Steady::now();
    auto m = run_async([&](asio::io_context& io) { return sntp::measure(io.get_executor(), list, quick()); });
    auto took = Steady::now() - begin;
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_LE(took, quick().timeout + 150ms);
    EXPECT_EQ(m->used, 1u);
    EXPECT_NE(m->servers[1].error.find("nothing listens there (port unreachable)"), std::string::npos) << m->servers[1].error;
    EXPECT_NE(m->servers[2].error.find("no valid reply after"), std::string::npos) << m->servers[2].error;
    EXPECT_GE(m->servers[2].requests, 3);  // retransmitted within the budget
    EXPECT_NE(m->describe().find("from 1 of 3 servers"), std::string::npos) << m->describe();

    std::vector<HostPort> dead{{"127.0.0.1", closed_port}};
    auto none = run_async([&](asio::io_context& io) { return sntp::measure(io.get_executor(), dead, quick()); });
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::unreachable);
    EXPECT_NE(none.error().message.find("no NTP server gave a sample"), std::string::npos);
}

TEST_F(Sntp, HostileServersAreRejectedWithAReason) {
    struct Case {
        Misbehaviour how;
        const char* reason;
    };
    for (auto [how, reason] : {Case{Misbehaviour::wrong_origin, "origin timestamp does not match our request"},
                               Case{Misbehaviour::kiss_deny, "NTP kiss-o'-death DENY"},
                               Case{Misbehaviour::client_mode, "mode 3, expected 4 (server)"},
                               Case{Misbehaviour::oversized, "68 bytes, expected exactly 48"}}) {
        auto m = measure_with_fake(how, {});
        ASSERT_FALSE(m) << reason;
        EXPECT_EQ(m.error().code, Errc::unreachable);
        EXPECT_NE(m.error().message.find(reason), std::string::npos) << m.error().message;
        // Beside a real server the hostile one costs nothing but its line in the report.
        auto mixed = measure_with_fake(how, {chrony[0]->host_port()});
        ASSERT_TRUE(mixed) << mixed.error().message;
        EXPECT_EQ(mixed->used, 1u);
        EXPECT_NE(mixed->servers[1].error.find(reason), std::string::npos) << mixed->servers[1].error;
    }
}

TEST_F(Sntp, AFalsetickerIsAnOutlier) {
    auto m = measure_with_fake(Misbehaviour::falseticker, servers());
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->used, 3u) << m->describe();
    ASSERT_TRUE(m->servers[3].best);
    EXPECT_TRUE(m->servers[3].outlier);
    EXPECT_NEAR(ms(m->servers[3].best->offset), 10000, 50);
    EXPECT_LE(std::chrono::abs(m->offset), m->uncertainty + 100us) << m->describe();
    EXPECT_NE(m->describe().find("(outlier)"), std::string::npos);
}

TEST_F(Sntp, CancellingStopsAtOnce) {
    asio::io_context probe_io;
    asio::ip::udp::socket silent(probe_io, {asio::ip::make_address("127.0.0.1"), 0});
    std::vector<HostPort> list{{"127.0.0.1", silent.local_endpoint().port()}};
    auto options = quick();
    options.timeout = 3000ms;
    auto begin = Steady::now();
    auto timer_won = run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
        asio::steady_timer timer(io, 50ms);
        auto first = co_await (sntp::measure(io.get_executor(), list, options) || timer.async_wait(asio::use_awaitable));
        co_return first.index() == 1;
    });
    EXPECT_TRUE(timer_won);
    EXPECT_LT(Steady::now() - begin, 500ms);
}

TEST_F(Sntp, NodeStartReportsTheClockPhase) {
    test::TempDir dir;
    auto options = test::loopback_node(dir);
    options.conf.init_clock_skew = true;
    options.conf.ntp_servers = servers();
    options.conf.ntp_timeout = 400ms;
    options.conf.inject_clock_offset_ms = 250;
    auto reading = run_async([&](asio::io_context& io) -> asio::awaitable<std::pair<std::vector<PhaseReport>, ClockReading>> {
        Node node(io.get_executor(), options);
        co_await node.start();
        auto result = std::pair{node.phases(), node.clock_reading()};
        co_await node.close();
        co_return result;
    });
    auto& [phases, clock] = reading;
    auto phase = std::find_if(phases.begin(), phases.end(), [](const PhaseReport& p) { return p.name == "initialize_system_clock"; });
    ASSERT_NE(phase, phases.end());
    EXPECT_NE(phase->outcome.find("offset -250."), std::string::npos) << phase->outcome;
    EXPECT_NE(phase->outcome.find(" ms from 3 of 3 servers"), std::string::npos) << phase->outcome;
    EXPECT_LT(phase->duration, 400ms);
    auto punch = std::find_if(phases.begin(), phases.end(), [](const PhaseReport& p) { return p.name == "initialize_punch_coordination"; });
    ASSERT_NE(punch, phases.end());
    EXPECT_NE(punch->outcome.find("NTP-corrected clock (offset -250."), std::string::npos) << punch->outcome;
    EXPECT_TRUE(clock.synced);
    EXPECT_LE(std::chrono::abs(clock.offset + 250ms), clock.uncertainty) << clock.summary;
    EXPECT_EQ(clock.summary, phase->outcome);
    std::printf("[ measured ] node phase: %s\n", phase->outcome.c_str());
}

TEST_F(Sntp, NodeWithoutServersSaysSo) {
    test::TempDir dir;
    auto options = test::loopback_node(dir);
    options.conf.init_clock_skew = true;
    options.conf.ntp_servers.clear();
    auto outcome = run_async([&](asio::io_context& io) -> asio::awaitable<std::string> {
        Node node(io.get_executor(), options);
        co_await node.start();
        std::string text;
        for (auto& p : node.phases())
            if (p.name == "initialize_system_clock") text = p.outcome;
        auto reading = node.clock_reading();
        if (reading.synced) text += " (but synced?)";
        co_await node.close();
        co_return text;
    });
    EXPECT_EQ(outcome, "no NTP servers configured");
}
