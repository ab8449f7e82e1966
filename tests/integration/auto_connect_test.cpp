#include <gtest/gtest.h>

#include <asio.hpp>
#include <warpgate/auto_connect.hpp>
#include <warpgate/gate.hpp>
#include <warpgate/node.hpp>

#include "support/node_fixture.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using namespace warpgate::test;

namespace {

Bytes pattern(std::size_t n, int seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + seed);
    return b;
}

asio::awaitable<void> echo_inbound(Gate& gate) {
    gate.on_link([ex = gate.node().get_executor()](Link incoming) {
        asio::co_spawn(ex, [link = std::make_shared<Link>(std::move(incoming))]() -> asio::awaitable<void> {
            try {
                for (;;) {
                    auto m = co_await link->recv(std::chrono::seconds(10));
                    co_await link->send(m);
                }
            } catch (const Exception&) {
            }
        }, asio::detached);
    });
    co_return;
}

struct Case {
    Transport transport;
    const char* ip;
};

class AutoConnect : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(AutoConnect, TwoGatesTalkThroughDirectConnect) {
    auto [transport, address] = GetParam();
    if (std::string_view(address) == "::1" && !has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback here";
    TempDir dir;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = loopback_gate(dir, address);
        auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
        auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
        EXPECT_NE(alpha.node().node_id(), bravo.node().node_id());
        co_await echo_inbound(bravo);
        auto link = co_await alpha.connect(bravo.address_text(), {.transport = transport, .timeout = std::chrono::seconds(5), .plugins = {}});
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
            auto outbound = co_await alpha.connect(bravo.node().node_address(), {.transport = transport, .timeout = std::chrono::seconds(5), .plugins = {}});
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
            co_await auto_connect(*a, peer, {.transport = TCP, .timeout = std::chrono::seconds(5), .plugins = {}});
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
            co_await auto_connect(*a, peer, {.transport = TCP, .timeout = std::chrono::milliseconds(300), .plugins = {}});
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
        auto winner = co_await (auto_connect(*a, peer, {.transport = TCP, .timeout = std::chrono::seconds(30), .plugins = {}}) ||
                                stop.async_wait(asio::use_awaitable));
        EXPECT_EQ(winner.index(), 1u);  // the timer won; auto_connect was cancelled
        co_await a->close();
    });  // returns only when no task or socket is left: a leak would hang here
}

TEST(AutoConnectFailures, BadDestinationsAreRejected) {
    TempDir dir;
    std::vector<std::string> bad_addresses = {"", "wg1", "wg1aaaa", "hello"};
    ConnectOptions unknown_plugin{.transport = TCP, .timeout = std::chrono::seconds(1), .plugins = {"no_such_plugin"}};
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
