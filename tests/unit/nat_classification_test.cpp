// NAT type and delta type from observations: the decision tables.
#include <gtest/gtest.h>

#include "nat/delta.hpp"
#include "nat/nat_behaviour.hpp"

using namespace warpgate;
using namespace warpgate::nat;

namespace {

const Endpoint local = *Endpoint::parse("10.1.0.2:5000");
const Endpoint mapped = *Endpoint::parse("198.51.100.2:5000");
const Endpoint mapped_elsewhere = *Endpoint::parse("198.51.100.2:61234");
const Endpoint mapped_third = *Endpoint::parse("198.51.100.2:61235");
constexpr auto A = Outcome::answered;
constexpr auto S = Outcome::silent;
constexpr auto N = Outcome::not_run;

// Filtering tests II and III, then mapping tests II (other IP) and III (other IP and port).
NatObservations observed(std::optional<Endpoint> m, Outcome both, Outcome port, Outcome alternate = N, Endpoint alt_mapped = {},
                         Outcome alternate_port = N, Endpoint alt_port_mapped = {}) {
    NatObservations o;
    o.local = local;
    o.mapped = m;
    o.change_ip_and_port = both;
    o.change_port = port;
    o.alternate = alternate;
    o.alternate_mapped = alt_mapped;
    o.alternate_port = alternate_port;
    o.alternate_port_mapped = alt_port_mapped;
    return o;
}

}  // namespace

TEST(NatBehaviour, ClassifiesTheSevenTypes) {
    struct Row {
        NatObservations o;
        NatType expected;
    };
    const Row rows[] = {
        {observed(std::nullopt, N, N), NatType::blocked},
        {observed(local, A, A, A, local, A, local), NatType::open_internet},
        {observed(local, S, S, A, local, A, local), NatType::symmetric_udp_firewall},
        {observed(mapped, A, A, A, mapped, A, mapped), NatType::full_cone},
        {observed(mapped, S, S, A, mapped_elsewhere, A, mapped_third), NatType::symmetric},
        {observed(mapped, S, S, A, mapped_elsewhere, A, mapped_elsewhere), NatType::symmetric},
        {observed(mapped, S, A, A, mapped, A, mapped), NatType::restricted},
        {observed(mapped, S, S, A, mapped, A, mapped), NatType::port_restricted},
        {observed(mapped, S, S, S, {}, S, {}), NatType::port_restricted},  // other IP silent: mapping unmeasured
        {observed(mapped, N, N), NatType::port_restricted},                // nothing run: the cautious reading
    };
    for (const auto& row : rows) EXPECT_EQ(classify(row.o), row.expected) << to_string(row.expected);
}

TEST(NatBehaviour, MappingTestsTellAddressFromAddressAndPortDependence) {
    // RFC 5780 section 4.3: test II (other IP) against test I, test III (other IP and port) against test II.
    EXPECT_EQ(classify_mapping(observed(mapped, S, S, A, mapped, A, mapped)), MappingBehaviour::endpoint_independent);
    EXPECT_EQ(classify_mapping(observed(mapped, S, S, A, mapped_elsewhere, A, mapped_elsewhere)), MappingBehaviour::address_dependent);
    EXPECT_EQ(classify_mapping(observed(mapped, S, S, A, mapped_elsewhere, A, mapped_third)), MappingBehaviour::address_and_port_dependent);
    EXPECT_EQ(classify_mapping(observed(mapped, S, S, A, mapped_elsewhere, S)), MappingBehaviour::address_and_port_dependent)
        << "test III silent: the cautious reading";
    EXPECT_EQ(classify_mapping(observed(mapped, S, S, S)), MappingBehaviour::unknown);
    EXPECT_EQ(classify_mapping(observed(std::nullopt, N, N)), MappingBehaviour::unknown);
    EXPECT_EQ(classify_mapping(observed(local, S, S)), MappingBehaviour::endpoint_independent) << "no translation";
}

TEST(NatBehaviour, EndpointIndependentFilteringWinsOverTheMappingAsInRfc3489) {
    // The original's tree asks test II first: full cone whatever the mapping.
    EXPECT_EQ(classify(observed(mapped, A, A, A, mapped_elsewhere, A, mapped_third)), NatType::full_cone);
}

TEST(NatBehaviour, UntestableFilteringAssumesTheStrictestCone) {
    auto o = observed(mapped, A, A, A, mapped);
    o.filtering_testable = false;
    EXPECT_EQ(classify(o), NatType::port_restricted);
    o.alternate_mapped = mapped_elsewhere;
    EXPECT_EQ(classify(o), NatType::symmetric);
    auto single = observed(mapped, N, N);
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

