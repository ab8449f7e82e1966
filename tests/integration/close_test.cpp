// Closing a gate that still has an open link is quick: the peer is told with a close record
// and nothing waits for an answer (a CLI that did not close its link first took ~5 s longer).
#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>

#include "support/gate_helpers.hpp"
#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::test;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

class CloseWithOpenLink : public ::testing::TestWithParam<Transport> {};

// Alpha and bravo on loopback; bravo keeps the link it accepts in `inbound`.
struct Gates {
    Gates(Gate a, Gate b) : alpha(std::move(a)), bravo(std::move(b)) {
        bravo.on_link([this](Link l) { inbound.emplace(std::move(l)); });
    }
    Gate alpha, bravo;
    std::optional<Link> inbound;
};

asio::awaitable<std::unique_ptr<Gates>> open_gates(asio::io_context& io, TempDir& dir) {
    auto options = loopback_gate(dir, "127.0.0.1");
    auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
    auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
    co_return std::make_unique<Gates>(std::move(alpha), std::move(bravo));
}

}  // namespace

TEST_P(CloseWithOpenLink, GateCloseReturnsAtOnceAndThePeerHearsIt) {
    auto transport = GetParam();
    TempDir dir;
    double close_ms = 0, peer_heard_ms = -1;
    auto begin_all = Clock::now();
    Clock::time_point closed_at;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto gates = co_await open_gates(io, dir);
        auto& alpha = gates->alpha;
        auto& bravo = gates->bravo;
        auto& inbound = gates->inbound;
        auto link = co_await alpha.connect(bravo.address_text(), {transport, std::chrono::seconds(5)});
        co_await link.send(as_bytes(std::string_view("hello")));
        EXPECT_TRUE(co_await eventually([&] { return inbound.has_value(); }, std::chrono::seconds(3)));
        if (!inbound) co_return;
        auto hello = co_await inbound->recv(std::chrono::seconds(3));
        EXPECT_EQ(std::string(as_chars(hello)), "hello");
        // As `warpgate connect` to a listener without --echo: the reply it waits for never comes.
        try {
            co_await link.recv(std::chrono::milliseconds(200));
            ADD_FAILURE() << "a reply nobody sent";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::timeout) << e.what();
        }
        auto begin = Clock::now();
        co_await alpha.close();  // the link is still open
        close_ms = ms_since(begin);
        closed_at = Clock::now();
        try {
            co_await inbound->recv(std::chrono::seconds(3));
            ADD_FAILURE() << "bravo received a message after alpha closed";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::closed) << e.what();  // told by the close record, not by a timeout
        }
        peer_heard_ms = ms_since(closed_at);
        inbound.reset();
        co_await bravo.close();
        closed_at = Clock::now();
    });
    double linger_ms = ms_since(closed_at);  // what the closed gates left running
    RecordProperty("close_ms", std::to_string(close_ms));
    std::cout << "close " << close_ms << " ms, peer told after " << peer_heard_ms << " ms, left running " << linger_ms
              << " ms, whole test " << ms_since(begin_all) << " ms\n";
    EXPECT_LT(close_ms, 500);
    EXPECT_LT(peer_heard_ms, 500);
    EXPECT_LT(linger_ms, 500);
}

INSTANTIATE_TEST_SUITE_P(Loopback, CloseWithOpenLink, ::testing::Values(TCP, UDP),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// As `warpgate connect` did after a failure: the last handle on a link is dropped, not
// closed, and the node closes. The link still ends at once on both sides and leaves nothing
// running (it took 5 s: the session went without closing its path).
TEST_P(CloseWithOpenLink, ADroppedLinkEndsAtOnceAndLeavesNothingRunning) {
    auto transport = GetParam();
    TempDir dir;
    double peer_heard_ms = -1;
    Clock::time_point dropped_at, closed_at;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto gates = co_await open_gates(io, dir);
        auto& alpha = gates->alpha;
        auto& bravo = gates->bravo;
        auto& inbound = gates->inbound;
        {
            auto result = co_await auto_connect(alpha.node(), bravo.node().node_address(),
                                                {transport, std::chrono::seconds(5)});
            co_await result.pipe->send(as_bytes(std::string_view("hello")));
            EXPECT_TRUE(co_await eventually([&] { return inbound.has_value(); }, std::chrono::seconds(3)));
            dropped_at = Clock::now();
        }  // the only handle on alpha's end goes
        co_await alpha.close();
        if (!inbound) co_return;
        auto hello = co_await inbound->recv(std::chrono::seconds(3));
        EXPECT_EQ(std::string(as_chars(hello)), "hello");
        try {
            co_await inbound->recv(std::chrono::seconds(3));
            ADD_FAILURE() << "bravo received a message after alpha dropped the link";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::closed) << e.what();
        }
        peer_heard_ms = ms_since(dropped_at);
        inbound.reset();
        co_await bravo.close();
        closed_at = Clock::now();
    });
    double linger_ms = ms_since(closed_at);
    std::cout << "peer told " << peer_heard_ms << " ms after the drop, left running " << linger_ms << " ms\n";
    EXPECT_LT(peer_heard_ms, 500);
    EXPECT_LT(linger_ms, 500);
}
