// The STUN client against a real coturn on loopback, and against hostile peers.
#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "proto/stun_client.hpp"
#include "support/free_port.hpp"
#include "support/hostile_stun_peer.hpp"
#include "support/run_async.hpp"
#include "support/stun_servers.hpp"

using namespace warpgate;
using namespace warpgate::stun;
using warpgate::test::run_async;

namespace {

ClientOptions short_budget() { return test::short_stun_budget(); }

Endpoint loopback(const char* ip) { return {asio::ip::make_address(ip), 0}; }

class StunClient : public test::CoturnSuite {};

// Both CHANGE-REQUEST flavours from one socket, as NAT discovery sends them.
asio::awaitable<std::pair<Result<BindingResult>, Result<BindingResult>>> change_requests(Endpoint server) {
    auto socket = value_or_throw(OwnedUdpStunPort::open(co_await asio::this_coro::executor, loopback("127.0.0.1")));
    auto both = co_await udp_binding(*socket, server, ChangeRequest{true, true}, ClientOptions{});
    auto port = co_await udp_binding(*socket, server, ChangeRequest{false, true}, ClientOptions{});
    co_return std::pair{std::move(both), std::move(port)};
}

}  // namespace

TEST_F(StunClient, UdpBindingBothFamilies) {
    for (auto [local, server] : {std::pair{loopback("127.0.0.1"), coturn->endpoint(0)}, std::pair{loopback("::1"), coturn->endpoint(2)}}) {
        auto r = run_async([&, local = local, server = server](asio::io_context& io) { return binding(io.get_executor(), UDP, local, server, ClientOptions{}); });
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->response.mapped, r->local) << "no NAT on loopback: the mapping is the socket itself";
        EXPECT_EQ(r->response.mapped.ip, local.ip);
        EXPECT_EQ(r->source, server);
        EXPECT_EQ(r->response.response_origin, server);
        EXPECT_FALSE(r->response.software.empty());
        EXPECT_EQ(r->requests, 1);
    }
}

TEST_F(StunClient, OtherAddressNamesTheSecondIpAndPort) {
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), coturn->endpoint(0), ClientOptions{}); });
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->response.other_address);
    EXPECT_EQ(*r->response.other_address, (Endpoint{asio::ip::make_address("127.0.0.2"), coturn->alt_port()}));
}

TEST_F(StunClient, TcpBindingBothFamilies) {
    for (auto [local, server] : {std::pair{loopback("127.0.0.1"), coturn->endpoint(0)}, std::pair{loopback("::1"), coturn->endpoint(2)}}) {
        auto r = run_async([&, local = local, server = server](asio::io_context& io) { return binding(io.get_executor(), TCP, local, server, ClientOptions{}); });
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->response.mapped, r->local);
        EXPECT_EQ(r->source, server);
    }
}

TEST_F(StunClient, ChangeRequestAnswersComeFromTheOtherAddress) {
    auto [both, port] = run_async([&](asio::io_context&) { return change_requests(coturn->endpoint(0)); });
    ASSERT_TRUE(both) << both.error().message;
    EXPECT_EQ(both->source, (Endpoint{asio::ip::make_address("127.0.0.2"), coturn->alt_port()}));
    ASSERT_TRUE(port) << port.error().message;
    EXPECT_EQ(port->source, (Endpoint{asio::ip::make_address("127.0.0.1"), coturn->alt_port()}));
    EXPECT_EQ(port->response.mapped, both->response.mapped) << "one socket, one mapping";
}

TEST_F(StunClient, DeadServerTimesOutWithAClearMessage) {
    Endpoint dead{asio::ip::make_address("127.0.0.1"), test::free_port()};
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), dead, short_budget()); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::timeout);
    EXPECT_EQ(r.error().message, "no valid response from " + dead.to_string() + " after 3 requests over 350 ms");
}

TEST_F(StunClient, GarbageIsIgnoredUntilTimeout) {
    test::HostileStunPeer peer([](const Message&, const Endpoint&, int) { return std::vector<Bytes>{to_bytes("HTTP/1.1 400 Bad Request\r\n\r\n")}; });
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), peer.endpoint(), short_budget()); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::timeout);
    EXPECT_NE(r.error().message.find("ignored 3 malformed datagrams"), std::string::npos) << r.error().message;
    EXPECT_EQ(peer.requests(), 3);
}

TEST_F(StunClient, AnotherTransactionIdIsIgnoredUntilTimeout) {
    test::HostileStunPeer peer([](const Message& request, const Endpoint& from, int) {
        auto forged = request;
        forged.transaction_id[0] ^= 0xFF;
        return std::vector<Bytes>{test::binding_success(forged, from)};
    });
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), peer.endpoint(), short_budget()); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::timeout);
    EXPECT_NE(r.error().message.find("3 with another transaction id"), std::string::npos) << r.error().message;
}

TEST_F(StunClient, GarbageBeforeTheAnswerDoesNotSpoilIt) {
    test::HostileStunPeer peer([](const Message& request, const Endpoint& from, int) {
        Bytes bad_cookie = test::binding_success(request, from);
        bad_cookie[4] ^= 1;
        return std::vector<Bytes>{Bytes{1, 2, 3}, bad_cookie, test::binding_success(request, from)};
    });
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), peer.endpoint(), short_budget()); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->response.mapped, r->local);
}

TEST_F(StunClient, RetransmitsUntilAnswered) {
    test::HostileStunPeer peer([](const Message& request, const Endpoint& from, int n) {
        return n < 3 ? std::vector<Bytes>{} : std::vector<Bytes>{test::binding_success(request, from)};
    });
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), peer.endpoint(), short_budget()); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->requests, 3);
}

TEST_F(StunClient, ErrorResponseIsSurfaced) {
    test::HostileStunPeer peer([](const Message& request, const Endpoint&, int) {
        return std::vector<Bytes>{MessageWriter(Method::binding, MessageClass::error, request.transaction_id)
                                      .add_error_code(400, "Bad Request")
                                      .finish(true)};
    });
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("127.0.0.1"), peer.endpoint(), short_budget()); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::refused);
    EXPECT_EQ(r.error().message, "STUN to " + peer.endpoint().to_string() + ": STUN error 400 (Bad Request)");
}

TEST_F(StunClient, TcpRefusedAndSilentServers) {
    Endpoint closed{asio::ip::make_address("127.0.0.1"), test::free_port()};
    auto refused = run_async([&](asio::io_context& io) { return binding(io.get_executor(), TCP, loopback("127.0.0.1"), closed, short_budget()); });
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::io);

    asio::io_context acceptor_io;  // the kernel completes connections to a listening socket
    asio::ip::tcp::acceptor silent(acceptor_io, {asio::ip::make_address("127.0.0.1"), 0});  // listens, never answers
    Endpoint silent_at{asio::ip::make_address("127.0.0.1"), silent.local_endpoint().port()};
    auto timed_out = run_async([&](asio::io_context& io) { return binding(io.get_executor(), TCP, loopback("127.0.0.1"), silent_at, short_budget()); });
    ASSERT_FALSE(timed_out);
    EXPECT_EQ(timed_out.error().code, Errc::timeout);
    EXPECT_EQ(timed_out.error().message, "no valid response from " + silent_at.to_string() + " over TCP within 500 ms");
}

TEST_F(StunClient, FamilyMismatchIsRefusedUpFront) {
    auto r = run_async([&](asio::io_context& io) { return binding(io.get_executor(), UDP, loopback("::1"), coturn->endpoint(0), ClientOptions{}); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unsupported);
}

TEST_F(StunClient, CancellationStopsAWaitingTransaction) {
    Endpoint dead{asio::ip::make_address("127.0.0.1"), test::free_port()};
    asio::io_context io;
    asio::cancellation_signal cancel;
    std::optional<Result<BindingResult>> outcome;
    asio::co_spawn(io, binding(io.get_executor(), UDP, loopback("127.0.0.1"), dead, ClientOptions{}),  // 39.5 s budget
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr, Result<BindingResult> r) { outcome = std::move(r); }));
    asio::steady_timer later(io, std::chrono::milliseconds(100));
    later.async_wait([&](asio::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    io.run();
    ASSERT_TRUE(outcome);
    ASSERT_FALSE(*outcome);
    EXPECT_EQ(outcome->error().code, Errc::cancelled);
}
