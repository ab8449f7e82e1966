// connect_back's limits without the network: the concurrency cap and the per-key and total
// rate limits, each refusal counted under its reason.
#include <gtest/gtest.h>

#include "crypto/identity.hpp"
#include "traversal/reverse_connect.hpp"

using namespace warpgate;
using namespace warpgate::traversal;
using namespace std::chrono_literals;

namespace {

NodeConfig limits(std::size_t per_key, std::size_t total, std::size_t concurrent) {
    auto c = NodeConfig::test();
    c.connect_back_per_key_burst = per_key;
    c.connect_back_per_key_window = 60s;
    c.connect_back_total_burst = total;
    c.connect_back_total_window = 60s;
    c.connect_back_max_concurrent = concurrent;
    return c;
}

Bytes key() { return crypto::IdentityKey::generate().public_key(); }

}  // namespace

TEST(ConnectBackGuard, CapsDialBacksInProgress) {
    auto guard = std::make_shared<ConnectBackGuard>(limits(10, 10, 2));
    auto alice = key();
    auto first = guard->admit(alice);
    auto second = guard->admit(alice);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(guard->in_progress(), 2u);
    EXPECT_FALSE(guard->admit(alice)) << "two dial-backs already run";
    EXPECT_EQ(guard->refusals().count("too_many_dial_backs"), 1u);
    first.reset();
    EXPECT_EQ(guard->in_progress(), 1u);
    EXPECT_TRUE(guard->admit(alice)) << "a finished dial-back frees its place";
    EXPECT_EQ(guard->counters().admitted, 3u);
}

TEST(ConnectBackGuard, LimitsEachKeyAndAllKeysTogether) {
    auto guard = std::make_shared<ConnectBackGuard>(limits(2, 3, 100));
    auto alice = key(), bob = key(), carol = key();
    EXPECT_TRUE(guard->admit(alice));
    EXPECT_TRUE(guard->admit(alice));
    EXPECT_FALSE(guard->admit(alice));
    EXPECT_EQ(guard->refusals().count("rate_limited_key"), 1u);
    EXPECT_TRUE(guard->admit(bob)) << "another key has its own budget";
    EXPECT_FALSE(guard->admit(carol)) << "three dials in all";
    EXPECT_EQ(guard->refusals().count("rate_limited_total"), 1u);
    EXPECT_EQ(guard->refusals().total(), 2u);
    EXPECT_EQ(guard->in_progress(), 0u) << "slots that were dropped at once hold nothing";
}
