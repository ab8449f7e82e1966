// The TURN client against a real coturn on loopback: allocation with long-term credentials,
// refresh, permissions, channels, data both ways over UDP, TCP and TLS, and the failures a
// user must be told about clearly (wrong password, stale nonce, a server that restarts).
#include <gtest/gtest.h>

#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdlib>
#include <random>

#include "proto/turn_client.hpp"
#include "support/run_async.hpp"
#include "support/turn_server.hpp"
#include "support/udp_forwarder.hpp"

using namespace warpgate;
using namespace std::chrono_literals;
using warpgate::test::run_async;
using turn::ServerTransport;

namespace {

const auto loopback = asio::ip::make_address("127.0.0.1");

turn::ClientOptions options_for(const test::TurnServer& server, ServerTransport transport = ServerTransport::udp) {
    turn::ClientOptions o;
    o.server = transport == ServerTransport::tls ? server.tls_endpoint() : server.endpoint();
    o.transport = transport;
    o.username = server.options().user;
    o.password = server.options().password;
    o.local_ip = loopback;
    o.tls.ca_file = server.ca_file().string();
    o.udp = stun::RetransmitPolicy::within(1500ms);
    o.stream_timeout = 1500ms;
    return o;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

// Polls until `done` or the deadline; the tests then assert on what arrived.
template <class F>
asio::awaitable<bool> eventually(F done, std::chrono::milliseconds within = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) co_return false;
        co_await sleep_for(10ms);
    }
    co_return true;
}

std::string text(ByteView b) { return std::string(as_chars(b)); }

// A permission for one peer (GCC 12: no braced list inside a co_await expression).
asio::awaitable<void> permit(turn::Client& client, Endpoint peer) {
    std::vector<Endpoint> peers{peer};
    co_await client.create_permission(std::move(peers));
}

// A plain UDP socket on loopback standing in for a peer without TURN.
struct PlainPeer {
    explicit PlainPeer(asio::any_io_executor ex, asio::ip::address ip = loopback) : socket(ex, asio::ip::udp::endpoint(ip, 0)) {}
    Endpoint endpoint() const { return {socket.local_endpoint().address(), socket.local_endpoint().port()}; }
    // One datagram within 2 s: its text and its source.
    asio::awaitable<std::pair<std::string, Endpoint>> receive() {
        std::array<char, 2048> buffer{};
        asio::ip::udp::endpoint from;
        asio::steady_timer timer(socket.get_executor(), 2s);
        timer.async_wait([this](asio::error_code ec) {
            if (!ec) socket.cancel();
        });
        asio::error_code ec;
        auto n = co_await socket.async_receive_from(asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
        timer.cancel();
        if (ec) throw Exception(Errc::timeout, "the plain peer received nothing");
        std::pair<std::string, Endpoint> got;  // GCC 12: no braced temporary in a coroutine
        got.first.assign(buffer.data(), n);
        got.second = Endpoint{from.address(), from.port()};
        co_return got;
    }
    asio::awaitable<void> send_to(std::string_view message, Endpoint to) {
        co_await socket.async_send_to(asio::buffer(message.data(), message.size()), asio::ip::udp::endpoint(to.ip, to.port),
                                      asio::use_awaitable);
    }
    asio::ip::udp::socket socket;
};

class TurnClient : public ::testing::Test {
protected:
    static void SetUpTestSuite() { server = std::make_unique<test::TurnServer>(); }
    static void TearDownTestSuite() { server.reset(); }
    static inline std::unique_ptr<test::TurnServer> server;
};

class TurnTransports : public TurnClient, public ::testing::WithParamInterface<ServerTransport> {};

}  // namespace

TEST_F(TurnClient, AllocatesWithLongTermCredentials) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto client = co_await turn::Client::allocate(io.get_executor(), options_for(*server));
        EXPECT_EQ(client->relayed().ip, loopback);
        EXPECT_NE(client->relayed().port, server->endpoint().port);
        EXPECT_EQ(client->mapped(), client->local()) << "no NAT on loopback";
        EXPECT_GT(client->lifetime(), 0s);
        EXPECT_LE(client->lifetime(), turn::default_lifetime);
        EXPECT_EQ(client->stats().retransmissions, 0);
        auto lifetime = co_await client->refresh();
        EXPECT_GT(lifetime, 0s);
        EXPECT_EQ(client->stats().refreshes, 1);
        auto relayed = client->relayed().to_string();
        co_await client->close();
        EXPECT_FALSE(client->is_open());
        // close() deallocated: coturn logs the Refresh with lifetime 0 for this relayed address.
        EXPECT_TRUE(co_await eventually([&] { return server->log().find("lifetime=0") != std::string::npos; }, 1000ms)) << server->log();
    });
}

TEST_F(TurnClient, WrongPasswordIsAClearError) {
    auto options = options_for(*server);
    options.password = "not-the-password";
    try {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> { co_await turn::Client::allocate(io.get_executor(), options); });
        FAIL() << "allocated with a wrong password";
    } catch (const Exception& e) {
        EXPECT_EQ(e.errc(), Errc::auth_failed);
        EXPECT_EQ(e.error().message,
                  "TURN server " + server->endpoint().to_string() + " refused the credentials for user test (401 after authentication)");
    }
}

TEST_F(TurnClient, NoServerIsAClearError) {
    auto options = options_for(*server);
    options.server.port = static_cast<std::uint16_t>(server->endpoint().port + 2);  // TLS is +1; nothing at +2
    options.udp = stun::RetransmitPolicy::within(300ms);
    try {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> { co_await turn::Client::allocate(io.get_executor(), options); });
        FAIL() << "allocated without a server";
    } catch (const Exception& e) {
        // Loopback answers a datagram to a closed port with ICMP: the end is immediate and says so.
        EXPECT_TRUE(e.errc() == Errc::closed || e.errc() == Errc::timeout) << e.what();
        EXPECT_NE(std::string(e.what()).find(options.server.to_string()), std::string::npos) << e.what();
    }
}

TEST_F(TurnClient, SendIndicationAndChannelDataToAPlainPeerAndBack) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto client = co_await turn::Client::allocate(io.get_executor(), options_for(*server));
        PlainPeer peer(io.get_executor());
        std::vector<std::string> received;
        client->on_data(peer.endpoint(), [&](ByteView data) { received.push_back(text(data)); });

        co_await permit(*client, peer.endpoint());
        co_await client->send(peer.endpoint(), as_bytes("by indication"));
        auto [first, from] = co_await peer.receive();
        EXPECT_EQ(first, "by indication");
        EXPECT_EQ(from, client->relayed()) << "the peer sees the relayed address";
        co_await peer.send_to("data indication back", client->relayed());
        EXPECT_TRUE(co_await eventually([&] { return received.size() == 1; }));

        auto channel = co_await client->bind_channel(peer.endpoint());
        EXPECT_TRUE(turn::valid_channel(channel));
        EXPECT_EQ(co_await client->bind_channel(peer.endpoint()), channel) << "a bound peer keeps its channel";
        co_await client->send(peer.endpoint(), as_bytes("by channel"));
        auto [second, from2] = co_await peer.receive();
        EXPECT_EQ(second, "by channel");
        EXPECT_EQ(from2, client->relayed());
        co_await peer.send_to("channel data back", client->relayed());
        EXPECT_TRUE(co_await eventually([&] { return received.size() == 2; }));
        EXPECT_EQ(received, (std::vector<std::string>{"data indication back", "channel data back"}));
        EXPECT_EQ(client->stats().data_in, 2u);
        co_await client->close();
    });
}

TEST_F(TurnClient, Ipv6RelayedAddresses) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = options_for(*server);
        options.family = IP6;
        auto v6 = co_await turn::Client::allocate(io.get_executor(), options);
        EXPECT_EQ(v6->relayed().ip, asio::ip::make_address("::1"));
        EXPECT_EQ(v6->relayed_addresses().size(), 1u);
        PlainPeer peer(io.get_executor(), asio::ip::make_address("::1"));
        std::vector<std::string> received;
        v6->on_data(peer.endpoint(), [&](ByteView data) { received.push_back(text(data)); });
        co_await permit(*v6, peer.endpoint());
        co_await v6->bind_channel(peer.endpoint());
        co_await v6->send(peer.endpoint(), as_bytes("over IPv6"));
        auto got = co_await peer.receive();
        EXPECT_EQ(got.first, "over IPv6");
        EXPECT_EQ(got.second, v6->relayed());
        co_await peer.send_to("back over IPv6", v6->relayed());
        EXPECT_TRUE(co_await eventually([&] { return received.size() == 1; }));

        co_await v6->close();
    });
}

TEST_F(TurnClient, NoPermissionNoData) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto client = co_await turn::Client::allocate(io.get_executor(), options_for(*server));
        PlainPeer stranger(io.get_executor());
        int received = 0;
        client->on_data(stranger.endpoint(), [&](ByteView) { ++received; });
        co_await stranger.send_to("let me in", client->relayed());
        co_await sleep_for(200ms);
        EXPECT_EQ(received, 0) << "the server drops data from peers without a permission";
        co_await client->close();
    });
}

TEST_P(TurnTransports, TwoAllocationsRelayToEachOther) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await turn::Client::allocate(io.get_executor(), options_for(*server, GetParam()));
        auto b = co_await turn::Client::allocate(io.get_executor(), options_for(*server, ServerTransport::udp));
        std::vector<std::string> at_a, at_b;
        a->on_data(b->relayed(), [&](ByteView d) { at_a.push_back(text(d)); });
        b->on_data(a->relayed(), [&](ByteView d) { at_b.push_back(text(d)); });
        co_await permit(*a, b->relayed());
        co_await permit(*b, a->relayed());
        co_await a->send(b->relayed(), as_bytes("a to b"));
        co_await b->send(a->relayed(), as_bytes("b to a"));
        EXPECT_TRUE(co_await eventually([&] { return at_a.size() == 1 && at_b.size() == 1; }));
        co_await a->bind_channel(b->relayed());
        co_await b->bind_channel(a->relayed());
        // Odd sizes: ChannelData on a stream is padded to 4 bytes and must come out whole.
        std::string big(1001, 'x');
        co_await a->send(b->relayed(), as_bytes(big));
        co_await b->send(a->relayed(), as_bytes("b to a, channel"));
        EXPECT_TRUE(co_await eventually([&] { return at_a.size() == 2 && at_b.size() == 2; }));
        EXPECT_EQ(at_b, (std::vector<std::string>{"a to b", big}));
        EXPECT_EQ(at_a, (std::vector<std::string>{"b to a", "b to a, channel"}));
        EXPECT_EQ(a->stats().ignored, 0u);
        co_await a->close();
        co_await b->close();
    });
}

INSTANTIATE_TEST_SUITE_P(Transports, TurnTransports, ::testing::Values(ServerTransport::udp, ServerTransport::tcp, ServerTransport::tls),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_F(TurnClient, TlsRefusesAnUnknownCertificate) {
    test::TurnServer other;  // its own self-signed certificate
    auto options = options_for(*server, ServerTransport::tls);
    options.tls.ca_file = other.ca_file().string();
    try {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> { co_await turn::Client::allocate(io.get_executor(), options); });
        FAIL() << "TLS accepted a certificate it cannot verify";
    } catch (const Exception& e) {
        EXPECT_EQ(e.errc(), Errc::auth_failed) << e.what();
        EXPECT_NE(std::string(e.what()).find("TLS handshake"), std::string::npos) << e.what();
    }
}

TEST(TurnClientTimers, RefreshesAllocationPermissionsAndChannelsBeforeTheyExpire) {
    // coturn grants no allocation under 600 s: the client refreshes 599 s early instead, i.e.
    // every second. Permissions and channels do get 2 s lifetimes.
    test::TurnServer server({.permission_lifetime_seconds = 2, .channel_lifetime_seconds = 2});
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = options_for(server);
        options.refresh_margin = turn::default_lifetime - 1s;
        options.permission_refresh = 700ms;
        options.channel_refresh = 900ms;
        auto a = co_await turn::Client::allocate(io.get_executor(), options);
        EXPECT_EQ(a->lifetime(), turn::default_lifetime);
        PlainPeer peer(io.get_executor());
        co_await permit(*a, peer.endpoint());
        co_await a->bind_channel(peer.endpoint());
        co_await sleep_for(4000ms);  // past the permission's and channel's lifetimes: only refreshes keep them
        EXPECT_GE(a->stats().refreshes, 2);
        EXPECT_GE(a->stats().permission_refreshes, 2);
        EXPECT_GE(a->stats().channel_refreshes, 2);
        EXPECT_TRUE(a->is_open());
        co_await a->send(peer.endpoint(), as_bytes("still here"));
        auto [message, from] = co_await peer.receive();
        EXPECT_EQ(message, "still here");
        co_await a->close();
    });
}

TEST(TurnClientNonce, StaleNonceIsAnsweredWithTheNewOne) {
    test::TurnServer server({.stale_nonce_seconds = 1});
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await turn::Client::allocate(io.get_executor(), options_for(server));
        co_await sleep_for(2500ms);  // coturn counts in whole seconds
        PlainPeer peer(io.get_executor());
        co_await permit(*a, peer.endpoint());
        EXPECT_GE(a->stats().stale_nonces, 1);
        co_await a->send(peer.endpoint(), as_bytes("fresh nonce"));
        auto [message, from] = co_await peer.receive();
        EXPECT_EQ(message, "fresh nonce");
        co_await a->close();
    });
}

TEST(TurnClientRestart, UdpAllocationLostOnRestartIsAClearError) {
    test::TurnServer server;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await turn::Client::allocate(io.get_executor(), options_for(server));
        server.restart();
        try {
            co_await a->refresh();
            ADD_FAILURE() << "refreshed an allocation the restarted server never made";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::closed) << e.what();
            EXPECT_NE(std::string(e.what()).find("no longer has the allocation"), std::string::npos) << e.what();
        }
        // A new allocation on the restarted server works.
        auto b = co_await turn::Client::allocate(io.get_executor(), options_for(server));
        EXPECT_TRUE(b->is_open());
        co_await a->close();
        co_await b->close();
    });
}

TEST(TurnClientRestart, StreamAllocationEndsWhenTheServerGoes) {
    test::TurnServer server;
    for (auto transport : {ServerTransport::tcp, ServerTransport::tls}) {
        run_async([&](asio::io_context& io) -> asio::awaitable<void> {
            auto a = co_await turn::Client::allocate(io.get_executor(), options_for(server, transport));
            std::optional<Error> ended;
            a->on_end([&](const Error& why) { ended = why; });
            server.restart();
            EXPECT_TRUE(co_await eventually([&] { return ended.has_value(); }));
            EXPECT_FALSE(a->is_open());
            if (ended) {
                EXPECT_EQ(ended->code, Errc::closed) << ended->message;
                EXPECT_EQ(ended->message, "TURN server " + a->options().server.to_string() + " closed the connection");
            }
            try {
                co_await a->send(server.endpoint(), as_bytes("after the end"));
                ADD_FAILURE() << "sent on an ended allocation";
            } catch (const Exception& e) {
                EXPECT_EQ(e.errc(), Errc::closed);
            }
            co_await a->close();
        });
    }
}

// A server with no IPv6 relay address answers an IPv6 Allocate with 440: a clear
// Errc::unsupported (the caller asks for the other family), and IPv4 still allocates there.
// And a server listening and relaying on ::1 only grants an IPv6 relayed address to a client
// that reaches it over IPv6.
TEST(TurnClientFamily, Ipv6AllocateAtAnIpv4OnlyRelayIs440AndAnIpv6OnlyServerRelaysIpv6) {
    test::TurnServer v4_server(test::ipv4_relay_only());
    test::TurnServer v6_server(test::ipv6_only());
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = options_for(v4_server);
        options.family = IP6;
        try {
            co_await turn::Client::allocate(io.get_executor(), options);
            ADD_FAILURE() << "an IPv6 allocation at a server relaying IPv4 only";
        } catch (const Exception& e) {
            EXPECT_EQ(e.errc(), Errc::unsupported) << e.what();
            EXPECT_NE(std::string(e.what()).find("relays no IPv6 (440"), std::string::npos) << e.what();
        }
        options.family = IP4;
        auto v4 = co_await turn::Client::allocate(io.get_executor(), options);
        EXPECT_EQ(v4->relayed().ip, loopback);
        co_await v4->close();

        auto over_v6 = options_for(v6_server);
        over_v6.local_ip = asio::ip::make_address("::1");
        over_v6.family = IP6;
        auto v6 = co_await turn::Client::allocate(io.get_executor(), over_v6);
        EXPECT_EQ(v6->relayed().ip, asio::ip::make_address("::1"));
        EXPECT_EQ(v6->local().ip, asio::ip::make_address("::1"));
        co_await v6->close();
    });
}

// Loss between the client and the server (a forwarder dropping 20 % each way): no Allocate
// or ChannelBind is refused (a ChannelBind sent again after the first one bound would be a
// 400 if it named another channel or peer). A transaction whose every retransmission is lost
// times out (about 1 in 20 rounds at this loss: 4 requests in the 3 s budget), which is
// counted, not failed. WG_LOSSY_RUNS rounds (default 5).
TEST(TurnClientLoss, AllocateAndChannelBindSurviveLossWithoutA400) {
    test::TurnServer server;
    int runs = std::getenv("WG_LOSSY_RUNS") ? std::atoi(std::getenv("WG_LOSSY_RUNS")) : 5;
    auto seed = std::random_device{}();
    std::mt19937 random(seed);
    std::bernoulli_distribution lost(0.2);
    int bound = 0, timed_out = 0;
    std::size_t dropped = 0;
    std::vector<std::string> failures;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        test::UdpForwarder lossy(io, server.endpoint(), [&](auto) { return lost(random); });
        PlainPeer peer(io.get_executor());
        for (int i = 0; i < runs; ++i) {
            auto options = options_for(server);
            options.server = lossy.endpoint();
            options.udp = stun::RetransmitPolicy::within(3000ms);
            std::shared_ptr<turn::Client> client;
            try {
                auto granted = co_await turn::Client::allocate(io.get_executor(), options);
                client = std::move(granted);
                co_await client->bind_channel(peer.endpoint());
                ++bound;
            } catch (const Exception& e) {
                if (e.errc() == Errc::timeout) ++timed_out;
                else failures.push_back(e.what());
            }
            if (client) co_await client->close();
        }
        dropped = lossy.dropped();
    });
    std::printf("20 %% loss each way (seed %u): %d of %d allocated and bound, %d timed out, %zu datagrams dropped\n", seed, bound,
                runs, timed_out, dropped);
    for (auto& f : failures) ADD_FAILURE() << f;
    EXPECT_GT(bound, 0);
    EXPECT_GT(dropped, 0u) << "the loss is real";
}
