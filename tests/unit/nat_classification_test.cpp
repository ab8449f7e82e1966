// NAT type and delta type from observations: the decision tables.
#include <gtest/gtest.h>

#include "nat/delta.hpp"
#include "nat/nat_behaviour.hpp"
#include "nat/nat_cache.hpp"

using namespace warpgate;
using namespace warpgate::nat;

namespace {

const Endpoint local = *Endpoint::parse("10.1.0.2:5000");
const Endpoint mapped = *Endpoint::parse("198.51.100.2:5000");
const Endpoint mapped_elsewhere = *Endpoint::parse("198.51.100.2:61234");
constexpr auto A = Outcome::answered;
constexpr auto S = Outcome::silent;
constexpr auto N = Outcome::not_run;

NatObservations observed(std::optional<Endpoint> m, Outcome both, Outcome alternate, Endpoint alt_mapped, Outcome port) {
    NatObservations o;
    o.local = local;
    o.mapped = m;
    o.change_ip_and_port = both;
    o.alternate = alternate;
    o.alternate_mapped = alt_mapped;
    o.change_port = port;
    return o;
}

}  // namespace

TEST(NatBehaviour, ClassifiesTheSevenTypes) {
    struct Row {
        NatObservations o;
        NatType expected;
    };
    const Row rows[] = {
        {observed(std::nullopt, N, N, {}, N), NatType::blocked},
        {observed(local, A, N, {}, N), NatType::open_internet},
        {observed(local, S, N, {}, N), NatType::symmetric_udp_firewall},
        {observed(mapped, A, N, {}, N), NatType::full_cone},
        {observed(mapped, S, A, mapped_elsewhere, N), NatType::symmetric},
        {observed(mapped, S, A, mapped, A), NatType::restricted},
        {observed(mapped, S, A, mapped, S), NatType::port_restricted},
        {observed(mapped, S, S, {}, S), NatType::port_restricted},  // alternate silent: mapping unmeasured
    };
    for (const auto& row : rows) {
        auto d = decide(row.o);
        ASSERT_TRUE(std::holds_alternative<NatType>(d)) << to_string(row.expected);
        EXPECT_EQ(std::get<NatType>(d), row.expected);
        EXPECT_EQ(classify(row.o), row.expected);
    }
}

TEST(NatBehaviour, AsksForTheTestsInRfcOrder) {
    // Test II must come before any packet to the other IP (see nat_behaviour.hpp).
    EXPECT_EQ(std::get<NatTest>(decide(observed(mapped, N, N, {}, N))), NatTest::change_ip_and_port);
    EXPECT_EQ(std::get<NatTest>(decide(observed(local, N, N, {}, N))), NatTest::change_ip_and_port);
    EXPECT_EQ(std::get<NatTest>(decide(observed(mapped, S, N, {}, N))), NatTest::alternate_mapping);
    EXPECT_EQ(std::get<NatTest>(decide(observed(mapped, S, A, mapped, N))), NatTest::change_port);
}

TEST(NatBehaviour, UntestableFilteringAssumesTheStrictestCone) {
    auto o = observed(mapped, N, A, mapped, N);
    o.filtering_testable = false;
    EXPECT_EQ(std::get<NatType>(decide(o)), NatType::port_restricted);
    o.alternate_mapped = mapped_elsewhere;
    EXPECT_EQ(classify(o), NatType::symmetric);
    auto single = observed(mapped, N, N, {}, N);
    single.filtering_testable = false;
    EXPECT_EQ(classify(single), NatType::port_restricted);
}

TEST(NatDelta, ClassifiesPortAllocation) {
    auto samples = [](std::initializer_list<std::pair<int, int>> pairs) {
        std::vector<PortSample> v;
        for (auto [l, m] : pairs) v.push_back({static_cast<std::uint16_t>(l), static_cast<std::uint16_t>(m)});
        return v;
    };
    struct Row {
        NatType type;
        std::vector<PortSample> s;
        Delta expected;
    };
    const Row rows[] = {
        {NatType::open_internet, samples({{100, 100}, {101, 101}, {103, 103}}), {DeltaType::not_applicable, 0}},
        {NatType::symmetric_udp_firewall, {}, {DeltaType::not_applicable, 0}},
        {NatType::port_restricted, samples({{100, 100}, {101, 101}, {103, 103}, {106, 106}}), {DeltaType::equal, 0}},
        {NatType::full_cone, samples({{100, 2100}, {101, 2101}, {103, 2103}, {106, 2106}}), {DeltaType::preserving, 2000}},
        {NatType::symmetric, samples({{100, 7000}, {101, 7001}, {103, 7002}, {106, 7003}}), {DeltaType::independent, 1}},
        {NatType::port_restricted, samples({{100, 7000}, {101, 7002}, {103, 7004}, {106, 7006}}), {DeltaType::dependent, 2}},
        {NatType::symmetric, samples({{100, 41234}, {101, 3321}, {103, 60001}, {106, 12000}}), {DeltaType::random, 0}},
        {NatType::symmetric, samples({{100, 7000}, {101, 7000}, {103, 7000}}), {DeltaType::random, 0}},  // step 0
        {NatType::port_restricted, samples({{100, 100}, {101, 101}}), {DeltaType::unknown, 0}},         // too few
        {NatType::blocked, {}, {DeltaType::unknown, 0}},
        {NatType::unknown, samples({{100, 100}, {101, 101}, {103, 103}}), {DeltaType::unknown, 0}},
    };
    for (const auto& row : rows) EXPECT_EQ(classify_delta(row.type, row.s), row.expected) << to_string(row.expected.type);
}

TEST(NatDelta, SampleOffsetsHaveUnequalDistances) {
    // Otherwise preserving and constant-step NATs would look alike.
    for (std::size_t i = 0; i + 2 < sample_offsets.size(); ++i)
        EXPECT_NE(sample_offsets[i + 1] - sample_offsets[i], sample_offsets[i + 2] - sample_offsets[i + 1]);
}

TEST(NatCache, ExpiresPerAddress) {
    NatCache cache(std::chrono::seconds(60));
    auto t0 = NatCache::Clock::now();
    NatReport a;
    a.local_ip = asio::ip::make_address("10.1.0.2");
    a.nat.type = NatType::port_restricted;
    NatReport b;
    b.local_ip = asio::ip::make_address("fd00::5");
    b.nat.type = NatType::open_internet;
    cache.store(a, t0);
    cache.store(b, t0 + std::chrono::seconds(30));
    ASSERT_TRUE(cache.find(a.local_ip, t0 + std::chrono::seconds(59)));
    EXPECT_EQ(cache.find(a.local_ip, t0 + std::chrono::seconds(59))->nat.type, NatType::port_restricted);
    EXPECT_FALSE(cache.find(a.local_ip, t0 + std::chrono::seconds(60)));
    EXPECT_EQ(cache.find(b.local_ip, t0 + std::chrono::seconds(60))->nat.type, NatType::open_internet);
    EXPECT_FALSE(cache.find(asio::ip::make_address("10.9.9.9"), t0));
    cache.forget(b.local_ip);
    EXPECT_FALSE(cache.find(b.local_ip, t0 + std::chrono::seconds(31)));
}
