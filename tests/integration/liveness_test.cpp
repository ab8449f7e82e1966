// Liveness (session.cpp): keepalives hold an idle link open past its dead timeout, and a peer
// that falls silent ends the link as dead, soon after the timeout. The liveness timer is set
// for the next instant something is due, so these catch a timer that is never re-armed or set
// too late as well as one that fires too often.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <atomic>
#include <warpgate/auto_connect.hpp>
#include <warpgate/node.hpp>

#include "support/node_fixture.hpp"
#include "support/run_async.hpp"
#include "support/udp_forwarder.hpp"

using namespace warpgate;
using namespace warpgate::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto keepalive = 150ms;
constexpr auto dead_after = 600ms;

NodeOptions lively_node(const TempDir& dir) {
    auto o = loopback_node(dir);
    o.conf.keepalive_interval = keepalive;
    o.conf.link_dead_timeout = dead_after;
    return o;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

class IdleLink : public ::testing::TestWithParam<Transport> {};

}  // namespace

TEST_P(IdleLink, KeepalivesHoldItOpenPastTheDeadTimeout) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), lively_node(dir));
        auto b = co_await Node::open(io.get_executor(), lively_node(dir));
        PipePtr inbound;
        b->on_inbound([&](PipePtr p) { inbound = std::move(p); });
        ConnectOptions options{GetParam(), 5s};
        options.plugins = {"direct_connect"};
        auto result = co_await auto_connect(*a, b->node_address(), options);
        auto& link = result.pipe;
        co_await sleep_for(4 * dead_after);  // idle: only keepalives (and their acks) travel
        EXPECT_TRUE(link->is_open()) << (link->close_reason() ? link->close_reason()->to_string() : "");
        EXPECT_TRUE(inbound);
        if (!inbound) co_return;
        EXPECT_TRUE(inbound->is_open()) << (inbound->close_reason() ? inbound->close_reason()->to_string() : "");
        co_await link->send(as_bytes(std::string_view("still here")));
        auto got = co_await inbound->recv(2s);
        EXPECT_EQ(std::string(as_chars(got)), "still here");
        link->close();
        co_await a->close();
        co_await b->close();
    });
}

INSTANTIATE_TEST_SUITE_P(Transports, IdleLink, ::testing::Values(TCP, UDP), [](const auto& info) { return info.param == TCP ? "TCP" : "UDP"; });

TEST(SilentPeer, EndsTheLinkAsDeadSoonAfterTheTimeout) {
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), lively_node(dir));
        auto b = co_await Node::open(io.get_executor(), lively_node(dir));
        std::atomic<bool> cut{false};
        UdpForwarder path(io, udp_listen_v4(*b), [&](auto) { return cut.load(); });
        ConnectOptions options{UDP, 5s};
        options.plugins = {"direct_connect"};
        auto result = co_await auto_connect(*a, redirected(*b, path.endpoint().port), options);
        auto& link = result.pipe;
        co_await sleep_for(2 * dead_after);
        EXPECT_TRUE(link->is_open()) << "keepalives through the forwarder should have kept it open";
        if (!link->is_open()) co_return;
        auto forwarded = path.forwarded();
        EXPECT_GE(forwarded, 8u) << "keepalives both ways, one per 150 ms per side";
        cut = true;
        auto cut_at = Clock::now();
        while (link->is_open() && ms_since(cut_at) < 5000) co_await sleep_for(10ms);
        auto ended_ms = ms_since(cut_at);
        EXPECT_FALSE(link->is_open()) << "the link outlived a silent peer by 5 s";
        if (!link->close_reason()) co_return;
        EXPECT_EQ(link->close_reason()->code, Errc::timeout) << link->close_reason()->to_string();
        EXPECT_NE(link->close_reason()->message.find("the link is dead"), std::string::npos) << link->close_reason()->to_string();
        // Dead after 600 ms without a record, noticed within a quarter interval (the timer's
        // floor) and scheduling slack: the last record may have come up to one keepalive
        // interval before the cut.
        EXPECT_GE(ended_ms, static_cast<double>((dead_after - keepalive).count()));
        EXPECT_LE(ended_ms, static_cast<double>((dead_after + 2 * keepalive).count()) + 400.0);
        co_await a->close();
        co_await b->close();
    });
}
