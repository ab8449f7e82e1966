// The race plan: which attempts start when, and which the NAT facts rule out, for every
// ordered pair of NAT behaviours, over TCP and UDP.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "traversal/race_plan.hpp"

using namespace warpgate;
using namespace warpgate::traversal;
using namespace std::chrono_literals;

namespace {

struct Kind {
    const char* name;
    NatInfo nat;
};

// Every behaviour an address entry can carry; symmetric NATs split by how they pick ports.
const Kind kinds[] = {
    {"unknown", {NatType::unknown, DeltaType::unknown, 0}},
    {"open", {NatType::open_internet, DeltaType::not_applicable, 0}},
    {"firewall", {NatType::symmetric_udp_firewall, DeltaType::not_applicable, 0}},
    {"full_cone", {NatType::full_cone, DeltaType::equal, 0}},
    {"restricted", {NatType::restricted, DeltaType::preserving, 0}},
    {"port_restricted", {NatType::port_restricted, DeltaType::equal, 0}},
    {"symmetric_sequential", {NatType::symmetric, DeltaType::independent, 1}},
    {"symmetric_random", {NatType::symmetric, DeltaType::random, 0}},
    {"blocked", {NatType::blocked, DeltaType::unknown, 0}},
};

bool behind_nat(NatType t) {
    return t != NatType::open_internet && t != NatType::symmetric_udp_firewall && t != NatType::unknown && t != NatType::blocked;
}

NodeAddress node(const char* nic, const char* external, std::uint16_t port, NatInfo nat) {
    NodeAddress a;
    a.machine_id[0] = static_cast<std::uint8_t>(port);
    AddressEntry e;
    e.if_index = 2;
    e.nic_ip = asio::ip::make_address(nic);
    e.prefix_len = 24;
    e.external_ip = behind_nat(nat.type) ? asio::ip::make_address(external) : e.nic_ip;
    e.port = port;
    e.nat = nat;
    a.v4.push_back(e);
    return a;
}

Attempt attempt(const char* plugin, Transport t, Route route, Endpoint target) { return {plugin, t, IP4, route, target, {}}; }

const PlannedAttempt& find(const std::vector<PlannedAttempt>& plan, std::string_view plugin) {
    for (auto& p : plan)
        if (p.attempt.plugin == plugin) return p;
    throw std::runtime_error("no attempt of " + std::string(plugin));
}

// The rules, stated as tables: who lets a dial in, and which pairs no punch can join.
bool lets_dial_in(NatType t, Transport transport) {
    return t == NatType::unknown || t == NatType::open_internet || t == NatType::full_cone ||
           (t == NatType::blocked && transport == TCP);
}
bool punch_can_meet(const NatInfo& a, const NatInfo& b, Transport transport) {
    if (transport == UDP && (a.type == NatType::blocked || b.type == NatType::blocked)) return false;
    auto hopeless = [](const NatInfo& random_side, const NatInfo& other) {
        return random_side.type == NatType::symmetric && random_side.delta_type == DeltaType::random &&
               (other.type == NatType::port_restricted || other.type == NatType::symmetric);
    };
    return !hopeless(a, b) && !hopeless(b, a);
}
std::string barrier_words(NatType t) {
    if (t == NatType::symmetric_udp_firewall) return "a symmetric UDP firewall";
    if (t == NatType::blocked) return "a network that blocks UDP (no STUN reply)";
    return fmt::format("a {} NAT", to_string(t));
}

struct Pair {
    Kind ours, theirs;
    Transport transport;
};

class EveryNatPair : public ::testing::TestWithParam<Pair> {};

std::vector<Pair> every_pair() {
    std::vector<Pair> out;
    for (auto transport : {TCP, UDP})
        for (auto& ours : kinds)
            for (auto& theirs : kinds) out.push_back({ours, theirs, transport});
    return out;
}

}  // namespace

TEST_P(EveryNatPair, PlansSkipsAndDelays) {
    auto [ours_kind, theirs_kind, transport] = GetParam();
    auto ours = node("10.0.0.2", "198.51.100.1", 4000, ours_kind.nat);
    auto peer = node("10.9.0.2", "203.0.113.5", 5000, theirs_kind.nat);
    Endpoint peer_external{peer.v4[0].external_ip, 5000}, our_external{ours.v4[0].external_ip, 4000};
    std::vector<Proposal> proposals = {
        {"direct_connect", Phase::direct, {attempt("direct_connect", transport, Route::external, peer_external)}},
        {"reverse_connect", Phase::direct, {attempt("reverse_connect", transport, Route::external, our_external)}},
        {"punch", Phase::punch, {attempt("punch", transport, Route::external, peer_external)}},
        {"relay", Phase::relay, {attempt("relay", transport, Route::external, *Endpoint::parse("192.0.2.9:3478"))}},
    };
    auto plan = plan_race(ours, peer, transport, proposals, {.stagger = 200ms, .max_half_open = 32, .max_flows = 256});
    ASSERT_EQ(plan.size(), 4u);

    auto& dial = find(plan, "direct_connect");
    auto& back = find(plan, "reverse_connect");
    auto& punch = find(plan, "punch");
    auto& relay = find(plan, "relay");
    bool dial_ok = lets_dial_in(theirs_kind.nat.type, transport);
    bool back_ok = lets_dial_in(ours_kind.nat.type, transport);
    bool punch_ok = punch_can_meet(ours_kind.nat, theirs_kind.nat, transport);

    EXPECT_EQ(dial.skipped(), !dial_ok) << dial.skip_reason;
    if (!dial_ok) EXPECT_EQ(dial.skip_reason, "peer is behind " + barrier_words(theirs_kind.nat.type) + ": no mapping to dial");
    EXPECT_EQ(back.skipped(), !back_ok) << back.skip_reason;
    if (!back_ok) EXPECT_EQ(back.skip_reason, "we are behind " + barrier_words(ours_kind.nat.type) + ": the peer cannot dial us");
    EXPECT_EQ(punch.skipped(), !punch_ok) << punch.skip_reason;
    if (!punch_ok) EXPECT_FALSE(punch.skip_reason.empty());
    EXPECT_FALSE(relay.skipped()) << relay.skip_reason;

    // The direct phase at once; each later phase one stagger after the last phase with something
    // to try, at once when the NAT facts ruled every earlier attempt out.
    EXPECT_EQ(dial.delay, 0ms);
    EXPECT_EQ(back.delay, 0ms);
    auto punch_at = (dial_ok || back_ok) ? 200ms : 0ms;
    EXPECT_EQ(punch.delay, punch_at);
    EXPECT_EQ(relay.delay, punch_at + (punch_ok ? 200ms : 0ms));
    // Start order follows the delays.
    for (std::size_t i = 1; i < plan.size(); ++i) EXPECT_LE(plan[i - 1].delay, plan[i].delay);
}

INSTANTIATE_TEST_SUITE_P(RacePlan, EveryNatPair, ::testing::ValuesIn(every_pair()), [](const auto& info) {
    return std::string(info.param.ours.name) + "_to_" + info.param.theirs.name + "_" + to_string(info.param.transport);
});

TEST(RacePlan, ExactReasonsForCommonNats) {
    auto ours = node("10.0.0.2", "198.51.100.1", 4000, {NatType::port_restricted, DeltaType::equal, 0});
    auto peer = node("10.9.0.2", "203.0.113.5", 5000, {NatType::symmetric, DeltaType::random, 0});
    std::vector<Proposal> proposals = {
        {"direct_connect", Phase::direct, {attempt("direct_connect", UDP, Route::external, *Endpoint::parse("203.0.113.5:5000"))}},
        {"reverse_connect", Phase::direct, {attempt("reverse_connect", UDP, Route::external, *Endpoint::parse("198.51.100.1:4000"))}},
        {"punch", Phase::punch, {attempt("punch", UDP, Route::external, *Endpoint::parse("203.0.113.5:5000"))}},
    };
    auto plan = plan_race(ours, peer, UDP, proposals, {});
    EXPECT_EQ(find(plan, "direct_connect").skip_reason, "peer is behind a symmetric NAT: no mapping to dial");
    EXPECT_EQ(find(plan, "reverse_connect").skip_reason, "we are behind a port restricted NAT: the peer cannot dial us");
    EXPECT_EQ(find(plan, "punch").skip_reason,
              "the peer's symmetric NAT picks random ports and our port restricted NAT filters by port: no port to predict");
}

TEST(RacePlan, UdpSprayMeetsAPortRestrictedConeAgainstRandomPorts) {
    // Birthday probing (udp_punch) beats this pair over UDP; two port-dependent mappings stay out.
    auto ours = node("10.0.0.2", "198.51.100.1", 4000, {NatType::port_restricted, DeltaType::equal, 0});
    auto random = node("10.9.0.2", "203.0.113.5", 5000, {NatType::symmetric, DeltaType::random, 0});
    auto sequential = node("10.9.0.2", "203.0.113.5", 5000, {NatType::symmetric, DeltaType::independent, 1});
    auto spray = [](Transport t) {
        return std::vector<Proposal>{{"spray", Phase::spray, {attempt("spray", t, Route::external, *Endpoint::parse("203.0.113.5:5000"))}}};
    };
    EXPECT_FALSE(find(plan_race(ours, random, UDP, spray(UDP), {}), "spray").skipped());
    EXPECT_FALSE(find(plan_race(random, ours, UDP, spray(UDP), {}), "spray").skipped());
    EXPECT_TRUE(find(plan_race(ours, random, TCP, spray(TCP), {}), "spray").skipped());
    EXPECT_TRUE(find(plan_race(sequential, random, UDP, spray(UDP), {}), "spray").skipped());
}

TEST(RacePlan, LanAndLoopbackDialsIgnoreTheNat) {
    // Behind one NAT, the peer's NIC address is reachable whatever the NAT does to outsiders.
    NatInfo symmetric{NatType::symmetric, DeltaType::random, 0};
    auto ours = node("10.0.0.2", "198.51.100.1", 4000, symmetric);
    auto peer = node("10.0.0.3", "198.51.100.1", 5000, symmetric);
    std::vector<Proposal> proposals = {{"direct_connect", Phase::direct,
                                        {attempt("direct_connect", TCP, Route::external, *Endpoint::parse("198.51.100.1:5000")),
                                         attempt("direct_connect", TCP, Route::lan, *Endpoint::parse("10.0.0.3:5000")),
                                         attempt("direct_connect", TCP, Route::loopback, *Endpoint::parse("127.0.0.1:5000"))}},
                                       {"relay", Phase::relay, {attempt("relay", TCP, Route::external, *Endpoint::parse("192.0.2.9:3478"))}}};
    auto plan = plan_race(ours, peer, TCP, proposals, {.stagger = 150ms, .max_half_open = 32, .max_flows = 256});
    ASSERT_EQ(plan.size(), 4u);
    // Likeliest first: loopback, LAN, then the external dial (ruled out), then the relay.
    EXPECT_EQ(plan[0].attempt.route, Route::loopback);
    EXPECT_FALSE(plan[0].skipped());
    EXPECT_EQ(plan[1].attempt.route, Route::lan);
    EXPECT_FALSE(plan[1].skipped());
    EXPECT_EQ(plan[2].attempt.route, Route::external);
    EXPECT_EQ(plan[2].skip_reason, "peer is behind a symmetric NAT: no mapping to dial");
    EXPECT_EQ(plan[3].attempt.plugin, "relay");
    EXPECT_EQ(plan[3].delay, 150ms);  // the LAN dials still get their head start
}

TEST(RacePlan, HalfOpenLimitStartsWavesAndFlowBudgetCaps) {
    NatInfo open{NatType::open_internet, DeltaType::not_applicable, 0};
    auto ours = node("198.51.100.1", "", 4000, open);
    auto peer = node("203.0.113.5", "", 5000, open);
    Proposal direct{"direct_connect", Phase::direct, {}};
    for (std::uint16_t i = 0; i < 40; ++i)
        direct.attempts.push_back(attempt("direct_connect", TCP, Route::external, Endpoint{peer.v4[0].nic_ip, std::uint16_t(6000 + i)}));
    Proposal spray{"spray", Phase::spray, {}};
    for (std::uint16_t i = 0; i < 30; ++i)
        spray.attempts.push_back(attempt("spray", TCP, Route::external, Endpoint{peer.v4[0].nic_ip, std::uint16_t(7000 + i)}));
    auto plan = plan_race(ours, peer, TCP, {direct, spray}, {.stagger = 250ms, .max_half_open = 32, .max_flows = 50});
    ASSERT_EQ(plan.size(), 70u);
    std::size_t at0 = 0, at250 = 0, at500 = 0, over_budget = 0;
    for (auto& p : plan) {
        if (p.skipped()) {
            EXPECT_EQ(p.skip_reason, "over the flow budget of 50 attempts");
            EXPECT_EQ(p.attempt.plugin, "spray");
            ++over_budget;
            continue;
        }
        at0 += p.delay == 0ms;
        at250 += p.delay == 250ms;
        at500 += p.delay == 500ms;
    }
    EXPECT_EQ(at0, 32u);        // the first wave of direct dials
    EXPECT_EQ(at250, 8u);       // the rest of them, one stagger later
    EXPECT_EQ(at500, 10u);      // the spray phase after both waves, up to the budget
    EXPECT_EQ(over_budget, 20u);
}

TEST(RacePlan, EmptyAndUnknownPlansRuleNothingOut) {
    NatInfo unknown{};
    auto ours = node("10.0.0.2", "", 4000, unknown);
    auto peer = node("10.9.0.2", "", 5000, unknown);
    EXPECT_TRUE(plan_race(ours, peer, TCP, {}, {}).empty());
    // Nothing in the direct phase: the relay starts at once.
    auto plan = plan_race(ours, peer, UDP, {{"relay", Phase::relay, {attempt("relay", UDP, Route::external, *Endpoint::parse("192.0.2.9:3478"))}}}, {});
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].delay, 0ms);
    EXPECT_FALSE(plan[0].skipped());
}

// RFC 8305 across families: a phase's IPv6 attempts start first and its IPv4 ones one head
// start later, unless no IPv6 attempt of the phase is live.
TEST(RacePlan, Ipv6AttemptsGetAHeadStartOverIpv4) {
    NatInfo port_restricted{NatType::port_restricted, DeltaType::equal, 0};
    auto with_v6 = [](NodeAddress a, const char* ip, NatInfo nat) {
        AddressEntry e = a.v4[0];
        e.nic_ip = e.external_ip = asio::ip::make_address(ip);
        e.prefix_len = 64;
        e.nat = nat;
        a.v6.push_back(e);
        return a;
    };
    auto ours = with_v6(node("10.0.0.2", "198.51.100.1", 4000, port_restricted), "2001:db8:1::2",
                        {NatType::symmetric_udp_firewall, DeltaType::not_applicable, 0});
    auto plan_for = [&](const NodeAddress& peer, Transport t) {
        Attempt v4 = attempt("punch", t, Route::external, Endpoint{peer.v4[0].external_ip, 5000});
        Attempt v6 = attempt("punch", t, Route::external, Endpoint{peer.v6[0].external_ip, 5000});
        v6.family = IP6;
        // Proposed IPv4 first, as the plugins list their families.
        return plan_race(ours, peer, t, {{"punch", Phase::punch, {v4, v6}}}, {.stagger = 200ms, .ipv6_head_start = 250ms});
    };

    auto firewalled = with_v6(node("10.9.0.2", "203.0.113.5", 5000, port_restricted), "2001:db8:2::2",
                              {NatType::symmetric_udp_firewall, DeltaType::not_applicable, 0});
    auto plan = plan_for(firewalled, UDP);
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].attempt.family, IP6);
    EXPECT_EQ(plan[0].delay, 0ms);
    EXPECT_EQ(plan[1].attempt.family, IP4);
    EXPECT_EQ(plan[1].delay, 250ms);

    // The peer's IPv6 network drops UDP: its attempt is skipped, IPv4 waits for nothing.
    auto blocked = with_v6(node("10.9.0.2", "203.0.113.5", 5000, port_restricted), "2001:db8:2::2", {NatType::blocked, DeltaType::unknown, 0});
    plan = plan_for(blocked, UDP);
    ASSERT_EQ(plan.size(), 2u);
    auto& v4 = plan[0].attempt.family == IP4 ? plan[0] : plan[1];
    auto& v6 = plan[0].attempt.family == IP6 ? plan[0] : plan[1];
    EXPECT_TRUE(v6.skipped());
    EXPECT_FALSE(v4.skipped());
    EXPECT_EQ(v4.delay, 0ms);
}

// The relay phase starts by half the relay budget at the latest (its allocation is then ready
// when the budget ends), whatever the earlier phases' staggers add up to.
TEST(RacePlan, TheRelayStartsByHalfTheRelayBudget) {
    NatInfo unknown{};
    auto ours = node("10.0.0.2", "", 4000, unknown);
    auto peer = node("10.9.0.2", "", 5000, unknown);
    auto peer_at = *Endpoint::parse("10.9.0.2:5000");
    std::vector<Proposal> proposals = {
        {"direct_connect", Phase::direct, {attempt("direct_connect", UDP, Route::external, peer_at)}},
        {"punch", Phase::punch, {attempt("punch", UDP, Route::external, peer_at)}},
        {"relay", Phase::relay, {attempt("relay", UDP, Route::external, *Endpoint::parse("192.0.2.9:3478"))}},
    };
    RaceLimits limits;
    limits.stagger = 400ms;
    auto relay_at = [&] { return find(plan_race(ours, peer, UDP, proposals, limits), "relay").delay; };
    EXPECT_EQ(relay_at(), 500ms) << "the budget's default 1 s halved, not the staggers' 800 ms";
    auto plan = plan_race(ours, peer, UDP, proposals, limits);
    EXPECT_EQ(find(plan, "punch").delay, 400ms);
    limits.relay_after = 3000ms;
    EXPECT_EQ(relay_at(), 800ms);
    limits.relay_after = 0ms;
    EXPECT_EQ(relay_at(), 0ms);
}
