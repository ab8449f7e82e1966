#include <gtest/gtest.h>
#include <warpgate/endpoint.hpp>

using namespace warpgate;

TEST(Endpoint, ParsesV4AndV6AndRoundTrips) {
    auto a = Endpoint::parse("127.0.0.1:80");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->port, 80);
    EXPECT_EQ(a->family(), IP4);
    EXPECT_EQ(a->to_string(), "127.0.0.1:80");
    auto b = Endpoint::parse("[::1]:65535");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->family(), IP6);
    EXPECT_EQ(b->to_string(), "[::1]:65535");
}

TEST(Endpoint, RejectsMalformed) {
    for (auto bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "[::1", "[::1]x:1",
                     "host:80", "1.2.3.4:8o", "[::1]:"}) {
        auto r = Endpoint::parse(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) EXPECT_EQ(r.error().code, Errc::malformed);
    }
}

TEST(HostPort, DefaultPortAndNames) {
    auto a = HostPort::parse("stun.example.org", 3478);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "stun.example.org");
    EXPECT_EQ(a->port, 3478);
    auto b = HostPort::parse("[::1]:1883");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->to_string(), "[::1]:1883");
    EXPECT_FALSE(HostPort::parse("example.org"));  // no port, no default
    EXPECT_FALSE(HostPort::parse(":80"));
}
