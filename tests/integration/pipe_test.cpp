#include <gtest/gtest.h>

#include <asio.hpp>
#include <numeric>

#include "support/node_fixture.hpp"
#include "support/session_server.hpp"
#include "support/run_async.hpp"

using namespace warpgate;
using warpgate::test::has_ipv6_loopback;
using warpgate::test::run_async;

namespace {

using test::SessionServer;
using test::SessionServerOptions;

// A server of the given family (TCP and UDP on one port) that echoes every message.
struct EchoServer : SessionServer {
    EchoServer(asio::io_context& io, Transport, Family f, SessionServerOptions options = {})
        : SessionServer(io, with_family(options, f)) {}
    static SessionServerOptions with_family(SessionServerOptions o, Family f) {
        o.family = f;
        return o;
    }
};

asio::awaitable<PipePtr> connect(Transport t, const SessionServer& server) {
    static auto demux = std::make_shared<session::Demux>();
    auto pipe = co_await test::dial_session(t, server.endpoint(), server.public_key(), demux);
    co_return pipe;
}

Bytes pattern(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 131 + n);
    return b;
}

class PipeEcho : public ::testing::TestWithParam<std::tuple<Transport, Family>> {};

}  // namespace

TEST_P(PipeEcho, MessagesArriveIntactAndInOrder) {
    // Copies, not structured bindings: clang 14 cannot capture those in the lambda below.
    auto transport = std::get<0>(GetParam());
    auto family = std::get<1>(GetParam());
    if (family == IP6 && !has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
    std::vector<std::size_t> sizes = {1, 2, 100, 1400, 60000};
    if (transport == TCP) sizes.insert(sizes.end(), {65536 * 3 + 7, 1024 * 1024});
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        EchoServer server(io, transport, family);
        auto pipe = co_await connect(transport, server);
        for (auto n : sizes) co_await pipe->send(pattern(n));
        for (auto n : sizes) {
            auto reply = co_await pipe->recv(5s);
            EXPECT_EQ(reply, pattern(n)) << "message of " << n << " bytes";
        }
        auto rtt = co_await pipe->ping(1s);
        EXPECT_GT(rtt.count(), 0);
        pipe->close();
        server.close();
    });
}

INSTANTIATE_TEST_SUITE_P(Loopback, PipeEcho,
                         ::testing::Combine(::testing::Values(TCP, UDP), ::testing::Values(IP4, IP6)),
                         [](const auto& info) {
                             return std::string(to_string(std::get<0>(info.param))) + to_string(std::get<1>(info.param));
                         });

TEST(Pipe, ClosingEitherSideEndsTheOthersRecv) {
    for (auto transport : {TCP, UDP}) {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> {
            EchoServer server(io, transport, IP4);
            auto pipe = co_await connect(transport, server);
            co_await pipe->send(to_bytes("hi"));
            {
            auto got = co_await pipe->recv(2s);
            EXPECT_EQ(got, to_bytes("hi"));
        }
            server.close();  // the server side closes its pipe
            try {
                co_await pipe->recv(2s);
                ADD_FAILURE() << "recv returned after the peer closed";
            } catch (const Exception& e) {
                EXPECT_EQ(e.errc(), Errc::closed) << e.what();
            }
            EXPECT_FALSE(pipe->is_open());
        });
    }
}

TEST(Pipe, RecvTimesOutAndRecvExactlySpansMessages) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        EchoServer server(io, TCP, IP4);
        auto pipe = co_await connect(TCP, server);
        try {
            co_await pipe->recv(50ms);
            ADD_FAILURE() << "recv returned without a message";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::timeout);
        }
        co_await pipe->send(to_bytes("abc"));
        co_await pipe->send(to_bytes("defg"));
        {
            auto got = co_await pipe->recv_exactly(5, 2s);
            EXPECT_EQ(got, to_bytes("abcde"));
        }
        {
            auto got = co_await pipe->recv_exactly(2, 2s);
            EXPECT_EQ(got, to_bytes("fg"));
        }
        pipe->close();
        server.close();
    });
}

TEST(Pipe, SubscriptionsTakeMatchingMessages) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        EchoServer server(io, UDP, IP4);
        auto pipe = co_await connect(UDP, server);
        auto sub = pipe->subscribe({.prefix = to_bytes("PING "), .sender = pipe->remote_endpoint()});
        auto other = pipe->subscribe({.prefix = to_bytes("x"), .sender = Endpoint{asio::ip::make_address("127.0.0.9"), 1}});
        co_await pipe->send(to_bytes("hello"));
        co_await pipe->send(to_bytes("PING 1"));
        co_await pipe->send(to_bytes("xyz"));
        {
            auto got = co_await sub->recv(2s);
            EXPECT_EQ(got, to_bytes("PING 1"));
        }
        {
            auto got = co_await pipe->recv(2s);
            EXPECT_EQ(got, to_bytes("hello"));
        }
        {
            auto got = co_await pipe->recv(2s);
            EXPECT_EQ(got, to_bytes("xyz"));
        }  // wrong sender for `other`
        pipe->unsubscribe(sub);
        co_await pipe->send(to_bytes("PING 2"));
        {
            auto got = co_await pipe->recv(2s);
            EXPECT_EQ(got, to_bytes("PING 2"));
        }
        pipe->close();
        server.close();
    });
}

TEST(Pipe, OversizedRecordsCloseTheLink) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        SessionServerOptions options;
        options.echo = false;
        options.pipe.max_message_size = 1000;
        SessionServer server(io, options);
        auto pipe = co_await connect(TCP, server);
        co_await pipe->send(Bytes(5000, 1));
        try {
            co_await pipe->recv(2s);
            ADD_FAILURE() << "server kept a link that sent an oversized record";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::closed);
        }
        EXPECT_EQ(server.links().size(), 1u);
        if (!server.links().empty()) {
            auto& accepted = server.links().front();
            EXPECT_TRUE(accepted->close_reason() && accepted->close_reason()->code == Errc::malformed);
        }
        pipe->close();
        server.close();
    });
}

TEST(Pipe, SlowTcpReaderPushesBackInsteadOfGrowing) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        SessionServerOptions options;
        options.echo = false;
        options.pipe.inbox_capacity = 4;
        SessionServer server(io, options);
        auto pipe = co_await connect(TCP, server);
        // Nobody reads on the server side: the sender must stall once kernel buffers are full.
        Bytes chunk(64 * 1024, 7);
        asio::steady_timer deadline(io, 2s);
        std::size_t sent = 0;
        using namespace asio::experimental::awaitable_operators;
        auto sender = [&]() -> asio::awaitable<void> {
            for (;;) {
                co_await pipe->send(chunk);
                ++sent;
            }
        };
        co_await (sender() || deadline.async_wait(asio::use_awaitable));
        EXPECT_LT(sent, 400u) << "64 KiB messages kept flowing with no reader";
        // Everything that was accepted is still delivered, in order, once the reader reads.
        EXPECT_EQ(server.links().size(), 1u);
        auto accepted = server.links().front();
        for (std::size_t i = 0; i < 4; ++i) {
            auto got = co_await accepted->recv(2s);
            EXPECT_EQ(got.size(), chunk.size());
        }
        pipe->close();
        server.close();
    });
}
