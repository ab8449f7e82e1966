// Many STUN servers: a lying or dead one must not decide a node's external address.
#include <gtest/gtest.h>

#include "proto/stun_consensus.hpp"
#include "support/free_port.hpp"
#include "support/hostile_stun_peer.hpp"
#include "support/run_async.hpp"
#include "support/stun_servers.hpp"

using namespace warpgate;
using namespace warpgate::stun;
using warpgate::test::run_async;

namespace {

const auto local_v4 = asio::ip::make_address("127.0.0.1");

ConsensusOptions short_budget() {
    ConsensusOptions o;
    o.client = test::short_stun_budget();
    return o;
}

std::vector<Bytes> lie(const Message& request, const Endpoint&, int) {
    return {test::binding_success(request, *Endpoint::parse("203.0.113.66:4444"))};
}

const ServerAnswer* answer_of(const Consensus& c, const HostPort& server) {
    for (const auto& a : c.answers)
        if (a.server == server) return &a;
    return nullptr;
}

class StunConsensus : public test::CoturnSuite {
protected:
    // coturn answers truthfully on each of its addresses and ports: several honest servers.
    static HostPort honest(std::size_t ip, bool alt_port = false) {
        auto hp = coturn->host_port(ip);
        if (alt_port) hp.port = coturn->alt_port();
        return hp;
    }
};

}  // namespace

TEST_F(StunConsensus, OneLiarIsOutvoted) {
    test::HostileStunPeer liar(lie);
    std::vector<HostPort> servers{liar.host_port(), honest(0), honest(1)};
    auto c = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, servers, short_budget()); });
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->mapped.ip, local_v4);
    EXPECT_EQ(c->agreeing(), 2u);
    ASSERT_NE(answer_of(*c, liar.host_port()), nullptr);
    EXPECT_FALSE(answer_of(*c, liar.host_port())->agrees);
    EXPECT_TRUE(answer_of(*c, honest(0))->agrees);
}

TEST_F(StunConsensus, DeadServerIsReplacedByTheNext) {
    HostPort dead{"127.0.0.1", test::free_port()};
    std::vector<HostPort> servers{dead, honest(0), honest(1, true)};
    auto options = short_budget();
    options.parallel = 2;
    auto c = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, servers, options); });
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->mapped.ip, local_v4);
    EXPECT_EQ(c->agreeing(), 2u);
    ASSERT_NE(answer_of(*c, dead), nullptr);
    EXPECT_EQ(answer_of(*c, dead)->result.error().code, Errc::timeout);
}

TEST_F(StunConsensus, QuorumCancelsTheServersStillOut) {
    HostPort dead{"127.0.0.1", test::free_port()};
    std::vector<HostPort> servers{honest(0), honest(1), dead};
    auto options = short_budget();
    options.client.udp = RetransmitPolicy::rfc8489();  // the dead server alone would take 39.5 s
    auto c = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, servers, options); });
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->agreeing(), 2u);
    EXPECT_EQ(answer_of(*c, dead)->result.error().code, Errc::cancelled);
}

TEST_F(StunConsensus, TcpAndASingleAnswer) {
    HostPort dead{"127.0.0.1", test::free_port()};
    auto c = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), TCP, local_v4, {dead, honest(0)}, short_budget()); });
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->mapped.ip, local_v4);
    EXPECT_EQ(c->agreeing(), 1u);
}

TEST_F(StunConsensus, EvenSplitIsAnError) {
    test::HostileStunPeer liar(lie);
    auto options = short_budget();
    auto c = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, {liar.host_port(), honest(0)}, options); });
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::unreachable);
    EXPECT_NE(c.error().message.find("disagree"), std::string::npos) << c.error().message;
}

TEST_F(StunConsensus, NobodyAnswersOrNothingConfigured) {
    HostPort dead{"127.0.0.1", test::free_port()};
    auto none = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, {dead}, short_budget()); });
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::unreachable);
    EXPECT_NE(none.error().message.find("no valid response from"), std::string::npos) << none.error().message;
    auto empty = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, {}, short_budget()); });
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, Errc::config);
}

TEST_F(StunConsensus, ServersOfTheOtherFamilyFailCleanly) {
    auto c = run_async([&](asio::io_context& io) { return ask_servers(io.get_executor(), UDP, local_v4, {HostPort{"::1", 3478}, honest(0)}, short_budget()); });
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(answer_of(*c, HostPort{"::1", 3478})->result.error().code, Errc::unsupported);
}
