// Port prediction: the next external ports for every delta type, with and without an
// observed mapping, and the edges of the port range.
#include <gtest/gtest.h>

#include "traversal/port_prediction.hpp"

using namespace warpgate;
using namespace warpgate::traversal;
using Ports = std::vector<std::uint16_t>;

namespace {

NatInfo info(NatType type, DeltaType delta, std::int32_t value = 0, MappingBehaviour mapping = MappingBehaviour::unknown) {
    return {type, delta, value, mapping};
}

}  // namespace

TEST(PortPrediction, NoNatAndEqualGiveTheLocalPort) {
    auto open = predict_ports(info(NatType::open_internet, DeltaType::not_applicable), 40000, std::nullopt);
    EXPECT_EQ(open.ports, Ports{40000});
    auto equal = predict_ports(info(NatType::port_restricted, DeltaType::equal), 40000, nat::PortSample{5000, 5000});
    EXPECT_EQ(equal.ports, Ports{40000});
    EXPECT_FALSE(needs_fresh_mapping(info(NatType::port_restricted, DeltaType::equal)));
}

TEST(PortPrediction, PreservingMirrorsTheLocalDistance) {
    auto n = info(NatType::full_cone, DeltaType::preserving, 1000);
    EXPECT_EQ(predict_ports(n, 40000, std::nullopt).ports, Ports{41000});
    // An observation wins over the stored value: 30010 -> 50010 says +20000.
    EXPECT_EQ(predict_ports(n, 30000, nat::PortSample{30010, 50010}).ports, Ports{50000});
    auto off_range = predict_ports(n, 65000, std::nullopt);
    EXPECT_TRUE(off_range.empty());
    EXPECT_NE(off_range.why_none.find("outside the port range"), std::string::npos);
    EXPECT_FALSE(needs_fresh_mapping(n));
}

TEST(PortPrediction, IndependentStepsFromTheFreshMapping) {
    auto n = info(NatType::symmetric, DeltaType::independent, 1, MappingBehaviour::address_and_port_dependent);
    EXPECT_TRUE(needs_fresh_mapping(n));
    // The local port does not matter: every flow takes the next port.
    EXPECT_EQ(predict_ports(n, 40000, nat::PortSample{51234, 20007}, 4).ports, (Ports{20008, 20009, 20010, 20011}));
    EXPECT_EQ(predict_ports(n, 40000, nat::PortSample{40000, 20007}, 2).ports, (Ports{20008, 20009}));
    auto down = info(NatType::symmetric, DeltaType::independent, -2);
    EXPECT_EQ(predict_ports(down, 40000, nat::PortSample{1, 7}, 5).ports, (Ports{5, 3, 1}));  // stops at the range's end
    auto blind = predict_ports(n, 40000, std::nullopt);
    EXPECT_TRUE(blind.empty());
    EXPECT_NE(blind.why_none.find("observed just before the punch"), std::string::npos);
}

TEST(PortPrediction, DependentKeepsTheMappingOfTheSamePort) {
    auto n = info(NatType::port_restricted, DeltaType::dependent, 2);
    EXPECT_TRUE(needs_fresh_mapping(n));
    EXPECT_EQ(predict_ports(n, 40000, nat::PortSample{40000, 61000}).ports, Ports{61000});
    EXPECT_EQ(predict_ports(n, 40000, nat::PortSample{40001, 61000}, 3).ports, (Ports{61002, 61004, 61006}));
    EXPECT_TRUE(predict_ports(n, 40000, std::nullopt).empty());
}

TEST(PortPrediction, RandomIsDeclinedWithWhy) {
    auto n = info(NatType::symmetric, DeltaType::random, 0, MappingBehaviour::address_and_port_dependent);
    auto p = predict_ports(n, 40000, nat::PortSample{40000, 33333});
    EXPECT_TRUE(p.empty());
    EXPECT_NE(p.why_none.find("random"), std::string::npos);
    EXPECT_EQ(p.why_none, why_unpredictable(n));
    // A per-destination mapping whose allocation was never measured cannot be predicted either.
    auto unmeasured = info(NatType::symmetric, DeltaType::unknown, 0, MappingBehaviour::address_dependent);
    EXPECT_FALSE(why_unpredictable(unmeasured).empty());
    EXPECT_TRUE(predict_ports(unmeasured, 40000, std::nullopt).empty());
    EXPECT_TRUE(why_unpredictable(info(NatType::symmetric, DeltaType::independent, 1)).empty());
}

TEST(PortPrediction, UnknownGuessesTheObservedOrLocalPort) {
    auto n = info(NatType::unknown, DeltaType::unknown);
    EXPECT_EQ(predict_ports(n, 40000, std::nullopt).ports, Ports{40000});
    EXPECT_EQ(predict_ports(n, 40000, nat::PortSample{40000, 1234}).ports, Ports{1234});
    EXPECT_EQ(predict_ports(n, 40000, nat::PortSample{40001, 1234}).ports, Ports{40000});
}

TEST(PortPrediction, DegenerateInputsSayWhy) {
    auto n = info(NatType::symmetric, DeltaType::independent, 0);
    auto zero_step = predict_ports(n, 40000, nat::PortSample{1, 2000});
    EXPECT_TRUE(zero_step.empty());
    EXPECT_FALSE(zero_step.why_none.empty());
    EXPECT_TRUE(predict_ports(info(NatType::open_internet, DeltaType::not_applicable), 0, std::nullopt).empty());
    EXPECT_TRUE(predict_ports(info(NatType::open_internet, DeltaType::not_applicable), 1, std::nullopt, 0).empty());
}
