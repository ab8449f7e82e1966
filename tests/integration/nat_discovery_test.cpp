// NAT discovery on loopback against coturn: no NAT there, so "open internet"; the NAT modes
// themselves are covered by the lab tests (tests/lab/). Here: server selection and skipping.
#include <gtest/gtest.h>

#include "nat/nat_discovery.hpp"
#include "support/free_port.hpp"
#include "support/hostile_stun_peer.hpp"
#include "support/run_async.hpp"
#include "support/stun_servers.hpp"

using namespace warpgate;
using namespace warpgate::nat;
using warpgate::test::run_async;

namespace {

const auto local_v4 = asio::ip::make_address("127.0.0.1");

DiscoveryOptions short_budget() {
    DiscoveryOptions o;
    o.client = test::short_stun_budget();
    return o;
}

// Answers truthfully but offers no RFC 5780 (no OTHER-ADDRESS), like most public servers.
std::vector<Bytes> plain_server(const stun::Message& request, const Endpoint& from, int) {
    return {test::binding_success(request, from)};
}

class NatDiscovery : public test::CoturnSuite {};

}  // namespace

TEST_F(NatDiscovery, LoopbackIsOpenInternet) {
    auto r = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {coturn->host_port(0)}, short_budget()); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->nat.type, NatType::open_internet);
    EXPECT_EQ(r->nat.delta_type, DeltaType::not_applicable);
    ASSERT_TRUE(r->external);
    EXPECT_EQ(r->external->ip, local_v4);
    EXPECT_EQ(r->tested_with, coturn->host_port(0));
    EXPECT_EQ(r->observations.change_ip_and_port, Outcome::answered);
    ASSERT_EQ(r->port_samples.size(), sample_offsets.size());
    for (const auto& s : r->port_samples) EXPECT_EQ(s.mapped, s.local);
    EXPECT_EQ(r->port_samples[3].local - r->port_samples[0].local, sample_offsets[3]);
}

TEST_F(NatDiscovery, SkipsDeadAndNonRfc5780Servers) {
    HostPort dead{"127.0.0.1", test::free_port()};
    test::HostileStunPeer plain(plain_server);
    auto r = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {dead, plain.host_port(), coturn->host_port(0)}, short_budget()); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->nat.type, NatType::open_internet);
    EXPECT_EQ(r->tested_with, coturn->host_port(0));
    ASSERT_EQ(r->servers.size(), 3u);
    EXPECT_FALSE(r->servers[0].answered);
    EXPECT_NE(r->servers[0].note.find("no answer within 150 ms of the first one"), std::string::npos) << r->servers[0].note;
    EXPECT_TRUE(r->servers[1].answered);
    EXPECT_NE(r->servers[1].note.find("no OTHER-ADDRESS"), std::string::npos) << r->servers[1].note;
    EXPECT_NE(r->servers[2].note.find("ran the NAT behaviour tests"), std::string::npos) << r->servers[2].note;
}

TEST_F(NatDiscovery, ServerIgnoringChangeRequestIsNotTrusted) {
    // Claims an other address but answers every CHANGE-REQUEST itself: believing it would
    // make any NAT look like full cone.
    test::HostileStunPeer liar([](const stun::Message& request, const Endpoint& from, int) {
        return std::vector<Bytes>{stun::MessageWriter(stun::Method::binding, stun::MessageClass::success, request.transaction_id)
                                      .add_xor_address(stun::attr::xor_mapped_address, from)
                                      .add_address(stun::attr::other_address, *Endpoint::parse("127.0.0.2:9"))
                                      .finish(true)};
    });
    auto r = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {liar.host_port(), coturn->host_port(0)}, short_budget()); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(r->servers[0].note.find("ignored CHANGE-REQUEST"), std::string::npos) << r->servers[0].note;
    EXPECT_EQ(r->tested_with, coturn->host_port(0));
    EXPECT_EQ(r->nat.type, NatType::open_internet);
}

TEST_F(NatDiscovery, WithoutRfc5780ServersFilteringIsAssumed) {
    test::HostileStunPeer plain(plain_server);
    auto options = short_budget();
    options.measure_delta = false;
    auto r = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {plain.host_port()}, options); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->tested_with);
    EXPECT_FALSE(r->observations.filtering_testable);
    EXPECT_EQ(r->nat.type, NatType::symmetric_udp_firewall) << "no NAT, inbound filtering assumed";
    EXPECT_EQ(r->nat.delta_type, DeltaType::not_applicable);
}

TEST_F(NatDiscovery, NoAnswerAtAllIsBlocked) {
    HostPort dead{"127.0.0.1", test::free_port()};
    auto r = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {dead}, short_budget()); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->nat.type, NatType::blocked);
    EXPECT_EQ(r->nat.delta_type, DeltaType::unknown);
    EXPECT_FALSE(r->external);
    auto none = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {}, short_budget()); });
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::config);
    auto other_family = run_async([&](asio::io_context& io) { return discover_nat(io.get_executor(), local_v4, {HostPort{"::1", 3478}}, short_budget()); });
    ASSERT_FALSE(other_family);
    EXPECT_EQ(other_family.error().code, Errc::config);
}

