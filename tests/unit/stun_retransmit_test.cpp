// RFC 8489 §6.2.1 retransmission budgets.
#include <gtest/gtest.h>

#include "proto/stun_client.hpp"

using namespace warpgate::stun;

TEST(StunRetransmitPolicy, BudgetFollowsRfc8489) {
    EXPECT_EQ(RetransmitPolicy::rfc8489().budget(), std::chrono::milliseconds(39500));  // §6.2.1's example
    EXPECT_EQ(RetransmitPolicy::within(std::chrono::milliseconds(1500)).budget(), std::chrono::milliseconds(1500));
    EXPECT_LE(RetransmitPolicy::within(std::chrono::milliseconds(1000)).budget(), std::chrono::milliseconds(1000));
}
