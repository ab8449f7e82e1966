// STUN over shared ports against coturn on loopback: several transactions at once on one
// port, a port fed by a demultiplexing receive loop (as the node's listen socket is), NAT
// discovery measuring the given port's own mapping, consensus with a liar, STUN over TCP from
// a port a listener holds, and filtering probes that draw no answer bounded by the round trip.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "nat/nat_discovery.hpp"
#include "net/servers.hpp"
#include "proto/stun_consensus.hpp"
#include "support/free_port.hpp"
#include "support/hostile_stun_peer.hpp"
#include "support/run_async.hpp"
#include "support/stun_servers.hpp"

using namespace warpgate;
using namespace warpgate::stun;
using warpgate::test::run_async;
using namespace asio::experimental::awaitable_operators;

namespace {

const auto local_v4 = asio::ip::make_address("127.0.0.1");
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

// The shape of the node's UDP listen socket: its own receive loop hands datagrams whose first
// byte is 0-3 (STUN, RFC 7983) to the STUN layer and keeps the rest (the node's own traffic).
class DemuxPort final : public StunPort, public std::enable_shared_from_this<DemuxPort> {
public:
    DemuxPort(asio::any_io_executor executor, Endpoint at) : executor_(executor), socket_(executor, {at.ip, at.port}) {}
    void start() { asio::co_spawn(socket_.get_executor(), receive(shared_from_this()), asio::detached); }
    void close() { socket_.close(); }
    int other_datagrams() const { return other_; }

    asio::any_io_executor executor() const override { return executor_; }
    Endpoint local_endpoint() const override { return {socket_.local_endpoint().address(), socket_.local_endpoint().port()}; }
    asio::awaitable<Result<void>> send_to(ByteView datagram, Endpoint to) override {
        auto [ec, n] = co_await socket_.async_send_to(asio::buffer(datagram.data(), datagram.size()), asio::ip::udp::endpoint(to.ip, to.port),
                                                      as_tuple_awaitable);
        if (ec) co_return fail(Errc::io, ec.message());
        co_return Result<void>{};
    }

private:
    static asio::awaitable<void> receive(std::shared_ptr<DemuxPort> self) {
        std::array<std::uint8_t, 2048> buffer;
        for (;;) {
            asio::ip::udp::endpoint from;
            auto [ec, n] = co_await self->socket_.async_receive_from(asio::buffer(buffer), from, as_tuple_awaitable);
            if (ec) co_return;
            ByteView datagram(buffer.data(), n);
            if (n > 0 && datagram[0] <= 3) self->on_datagram(datagram, {from.address(), from.port()});
            else ++self->other_;
        }
    }
    asio::any_io_executor executor_;
    asio::ip::udp::socket socket_;
    int other_ = 0;
};

nat::DiscoveryOptions quick() {
    nat::DiscoveryOptions o;
    o.client = test::short_stun_budget();
    return o;
}

std::vector<Bytes> lie(const stun::Message& request, const Endpoint&, int) {
    return {test::binding_success(request, *Endpoint::parse("203.0.113.66:4444"))};
}

class StunPorts : public test::CoturnSuite {};

}  // namespace

TEST_F(StunPorts, ConcurrentTransactionsOnOnePort) {
    auto r = run_async([&](asio::io_context& io) -> asio::awaitable<std::vector<Result<BindingResult>>> {
        auto port = value_or_throw(OwnedUdpStunPort::open(io.get_executor(), {local_v4, 0}));
        auto all = udp_binding(*port, coturn->endpoint(0), std::nullopt, ClientOptions{}) &&
                   udp_binding(*port, coturn->endpoint(1), std::nullopt, ClientOptions{}) &&
                   udp_binding(*port, coturn->endpoint(0), ChangeRequest{true, true}, ClientOptions{}) &&
                   udp_binding(*port, coturn->endpoint(0), ChangeRequest{false, true}, ClientOptions{});
        auto [a, b, c, d] = co_await std::move(all);
        EXPECT_EQ(port->transactions().pending(), 0u);
        std::vector<Result<BindingResult>> results;
        for (auto* one : {&a, &b, &c, &d}) results.push_back(std::move(*one));
        co_return results;
    });
    ASSERT_EQ(r.size(), 4u);
    for (auto& one : r) {
        ASSERT_TRUE(one) << one.error().message;
        EXPECT_EQ(one->response.mapped, one->local) << "each answer is this port's mapping";
        EXPECT_EQ(one->local, r[0]->local);
    }
    EXPECT_EQ(r[1]->source, coturn->endpoint(1));
    EXPECT_EQ(r[2]->source, (Endpoint{coturn->endpoint(1).ip, coturn->alt_port()})) << "CHANGE-REQUEST ip+port";
    EXPECT_EQ(r[3]->source, (Endpoint{coturn->endpoint(0).ip, coturn->alt_port()})) << "CHANGE-REQUEST port";
}

TEST_F(StunPorts, DemultiplexedPortServesStunBesideOtherTraffic) {
    auto r = run_async([&](asio::io_context& io) -> asio::awaitable<std::pair<Result<Consensus>, int>> {
        auto port = std::make_shared<DemuxPort>(io.get_executor(), Endpoint{local_v4, 0});
        port->start();
        // Non-STUN datagrams (first byte >= 4) arrive while the transactions run.
        asio::ip::udp::socket noise(io.get_executor(), {local_v4, 0});
        const std::string junk = "\x17\xfe\xfd";  // a DTLS-looking record header
        for (int i = 0; i < 5; ++i) noise.send_to(asio::buffer(junk), {local_v4, port->local_endpoint().port});
        ConsensusOptions options;
        options.client = test::short_stun_budget();
        std::vector<HostPort> servers{coturn->host_port(0), coturn->host_port(1)};
        auto c = co_await ask_servers(*port, servers, options);
        int other = port->other_datagrams();
        port->close();
        co_return std::pair<Result<Consensus>, int>(std::move(c), other);
    });
    ASSERT_TRUE(r.first) << r.first.error().message;
    EXPECT_EQ(r.first->agreeing(), 2u);
    EXPECT_EQ(r.first->mapped.ip, local_v4);
    EXPECT_EQ(r.second, 5) << "the other traffic stays with the socket's owner";
}

TEST_F(StunPorts, DiscoveryMeasuresTheGivenPort) {
    auto r = run_async([&](asio::io_context& io) -> asio::awaitable<std::pair<Result<nat::NatReport>, Endpoint>> {
        auto port = std::make_shared<DemuxPort>(io.get_executor(), Endpoint{local_v4, 0});
        port->start();
        std::vector<HostPort> servers{coturn->host_port(0)};
        auto report = co_await nat::discover_nat(*port, servers, quick());
        auto at = port->local_endpoint();
        port->close();
        co_return std::pair<Result<nat::NatReport>, Endpoint>(std::move(report), at);
    });
    ASSERT_TRUE(r.first) << r.first.error().message;
    const auto& report = *r.first;
    EXPECT_EQ(report.observations.local, r.second);
    ASSERT_TRUE(report.external);
    EXPECT_EQ(*report.external, r.second) << "loopback: the port's mapping is the port itself";
    EXPECT_EQ(report.nat.type, NatType::open_internet);
    EXPECT_EQ(report.nat.mapping, MappingBehaviour::endpoint_independent);
    EXPECT_EQ(report.observations.alternate, nat::Outcome::answered);
    EXPECT_EQ(report.observations.alternate_port, nat::Outcome::answered);
}

TEST_F(StunPorts, ConsensusOutvotesOneLiarOfThree) {
    test::HostileStunPeer liar(lie);
    auto r = run_async([&](asio::io_context& io) {
        return nat::discover_nat(io.get_executor(), local_v4, {liar.host_port(), coturn->host_port(0), coturn->host_port(1)}, quick());
    });
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->external);
    EXPECT_EQ(r->external->ip, local_v4) << "two honest servers outvote the liar";
    EXPECT_TRUE(r->servers_disagree);
    ASSERT_EQ(r->servers.size(), 3u);
    EXPECT_TRUE(r->servers[0].answered);
    EXPECT_FALSE(r->servers[0].agrees);
    EXPECT_EQ(r->servers[0].mapped, Endpoint::parse("203.0.113.66:4444").value());
    EXPECT_TRUE(r->servers[1].agrees);
    EXPECT_TRUE(r->servers[2].agrees);
    EXPECT_EQ(r->tested_with, coturn->host_port(0)) << "the liar offers no RFC 5780";
    EXPECT_EQ(r->nat.type, NatType::open_internet);
}

TEST_F(StunPorts, TcpMappingFromTheListenPort) {
    // Every TCP listener sets SO_REUSEPORT, so STUN over TCP can bind its port.
    auto listener = value_or_throw(net::TcpServer::bind(asio::system_executor(), {local_v4, 0}, false));
    const auto at = listener->local_endpoint();
    auto r = run_async([&](asio::io_context& io) -> asio::awaitable<Result<nat::NatReport>> {
        auto port = value_or_throw(OwnedUdpStunPort::open(io.get_executor(), at));
        std::vector<HostPort> servers{coturn->host_port(0)};
        co_return co_await nat::discover_nat(*port, servers, quick());
    });
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->tcp_external) << r->tcp_note;
    EXPECT_EQ(*r->tcp_external, at) << "the TCP mapping of the listen port itself";

    // A socket without SO_REUSEPORT (another program) still cannot take the listener's port.
    asio::io_context io;
    asio::ip::tcp::socket other(io, asio::ip::tcp::v4());
    asio::error_code ec;
    other.bind({at.ip, at.port}, ec);
    EXPECT_EQ(ec, asio::error::address_in_use);
}

TEST_F(StunPorts, SilentFilteringProbesCostAFewRoundTrips) {
    // An RFC 5780 server whose CHANGE-REQUEST answers never arrive, as behind a filtering NAT;
    // its other address is dead. Test I's budget is 1.4 s: each silent probe must cost ~60 ms.
    const auto dead = Endpoint{asio::ip::make_address("127.0.0.2"), test::free_port()};
    test::HostileStunPeer filtered([&](const stun::Message& request, const Endpoint& from, int) {
        if (request.find(attr::change_request)) return std::vector<Bytes>{};
        return std::vector<Bytes>{MessageWriter(Method::binding, MessageClass::success, request.transaction_id)
                                      .add_xor_address(attr::xor_mapped_address, from)
                                      .add_address(attr::other_address, dead)
                                      .finish(true)};
    });
    auto start = std::chrono::steady_clock::now();
    auto r = run_async([&](asio::io_context& io) { return nat::discover_nat(io.get_executor(), local_v4, {filtered.host_port()}, {}); });
    auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->tested_with, filtered.host_port());
    EXPECT_TRUE(r->observations.filtering_testable);
    EXPECT_EQ(r->observations.change_ip_and_port, nat::Outcome::silent);
    EXPECT_EQ(r->observations.change_port, nat::Outcome::silent);
    EXPECT_EQ(r->nat.type, NatType::symmetric_udp_firewall) << "no NAT on loopback, inbound filtered";
    EXPECT_LT(elapsed, std::chrono::milliseconds(400)) << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
}
