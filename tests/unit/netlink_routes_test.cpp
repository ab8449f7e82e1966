#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "net/netlink_routes.hpp"

using namespace warpgate;
using net::DefaultRoute;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Builds rtnetlink datagrams the way the kernel lays them out (host byte order, 4-byte aligned).
class Datagram {
public:
    template <class T>
    void put(const T& value) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&value);
        bytes_.insert(bytes_.end(), p, p + sizeof(T));
    }
    void put(ByteView b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
    void align() { bytes_.resize(NLMSG_ALIGN(bytes_.size())); }
    std::size_t size() const { return bytes_.size(); }
    // Patches the 16-bit length field written at `at` to cover everything since.
    void close_rta(std::size_t at) { set_u16(at, bytes_.size() - at); }
    void close_message(std::size_t at) {
        auto len = static_cast<std::uint32_t>(bytes_.size() - at);
        std::memcpy(&bytes_[at], &len, 4);
    }
    void set_u16(std::size_t at, std::size_t v) {
        auto len = static_cast<std::uint16_t>(v);
        std::memcpy(&bytes_[at], &len, 2);
    }
    const Bytes& bytes() const { return bytes_; }
    Bytes& bytes() { return bytes_; }

private:
    Bytes bytes_;
};

void attribute(Datagram& d, unsigned short type, ByteView value) {
    const auto at = d.size();
    d.put(rtattr{0, type});
    d.put(value);
    d.close_rta(at);
    d.align();
}

void attribute_u32(Datagram& d, unsigned short type, std::uint32_t v) {
    attribute(d, type, ByteView(reinterpret_cast<const std::uint8_t*>(&v), 4));
}

std::size_t begin_route(Datagram& d, unsigned char family, unsigned char dst_len, unsigned char table) {
    const auto at = d.size();
    d.put(nlmsghdr{0, RTM_NEWROUTE, NLM_F_MULTI, 1, 0});
    rtmsg rt{};
    rt.rtm_family = family;
    rt.rtm_dst_len = dst_len;
    rt.rtm_table = table;
    rt.rtm_type = RTN_UNICAST;
    d.put(rt);
    return at;
}

void done(Datagram& d) {
    d.put(nlmsghdr{NLMSG_HDRLEN + sizeof(int), NLMSG_DONE, NLM_F_MULTI, 1, 0});
    d.put(0);
}

const auto gw4 = from_hex("c0000201");                          // 192.0.2.1
const auto gw6a = from_hex("fd000000000000000000000000000001");  // fd00::1
const auto gw6b = from_hex("fd000000000000000000000000000002");  // fd00::2

Datagram sample_dump() {
    Datagram d;
    auto at = begin_route(d, AF_INET, 0, RT_TABLE_MAIN);  // default via 192.0.2.1 dev 4 metric 100
    attribute(d, RTA_GATEWAY, gw4);
    attribute_u32(d, RTA_OIF, 4);
    attribute_u32(d, RTA_PRIORITY, 100);
    d.close_message(at);
    at = begin_route(d, AF_INET, 24, RT_TABLE_MAIN);  // 192.0.2.0/24: not a default route
    attribute_u32(d, RTA_OIF, 4);
    d.close_message(at);
    at = begin_route(d, AF_INET, 0, RT_TABLE_LOCAL);  // another table
    attribute(d, RTA_GATEWAY, gw4);
    attribute_u32(d, RTA_OIF, 5);
    d.close_message(at);
    at = begin_route(d, AF_INET6, 0, RT_TABLE_COMPAT);  // multipath in main, named by RTA_TABLE
    attribute_u32(d, RTA_TABLE, RT_TABLE_MAIN);
    const auto mp = d.size();
    d.put(rtattr{0, RTA_MULTIPATH});
    for (auto [gw, oif] : {std::pair{&gw6a, 2}, std::pair{&gw6b, 3}}) {
        const auto hop = d.size();
        d.put(rtnexthop{0, 0, 0, oif});
        attribute(d, RTA_GATEWAY, *gw);
        d.set_u16(hop, d.size() - hop);
    }
    d.close_rta(mp);
    d.close_message(at);
    return d;
}

}  // namespace

TEST(NetlinkRoutes, ParsesDefaultRoutesOfTheMainTable) {
    auto d = sample_dump();
    done(d);
    std::vector<DefaultRoute> routes;
    auto r = net::parse_route_dump(d.bytes(), routes);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(*r);
    EXPECT_THAT(routes, ElementsAre(DefaultRoute{4, asio::ip::make_address("192.0.2.1"), 100},
                                    DefaultRoute{2, asio::ip::make_address("fd00::1"), 0},
                                    DefaultRoute{3, asio::ip::make_address("fd00::2"), 0}));
}

TEST(NetlinkRoutes, WaitsForDoneAcrossDatagrams) {
    std::vector<DefaultRoute> routes;
    auto r = net::parse_route_dump(sample_dump().bytes(), routes);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
}

TEST(NetlinkRoutes, RejectsEveryTruncation) {
    const auto whole = sample_dump().bytes();
    for (std::size_t n = 1; n < whole.size(); ++n) {
        std::vector<DefaultRoute> routes;
        auto r = net::parse_route_dump(ByteView(whole).first(n), routes);
        // A cut exactly between messages is a shorter, valid datagram.
        if (r) continue;
        EXPECT_EQ(r.error().code, Errc::malformed) << n;
    }
    std::vector<DefaultRoute> routes;
    auto r = net::parse_route_dump(ByteView(whole).first(whole.size() - 3), routes);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("does not fit"));
}

TEST(NetlinkRoutes, RejectsAnAttributeOverrunningItsMessage) {
    Datagram d;
    const auto at = begin_route(d, AF_INET, 0, RT_TABLE_MAIN);
    d.put(rtattr{64, RTA_OIF});  // claims 64 bytes, has 4
    d.put(std::uint32_t{4});
    d.close_message(at);
    std::vector<DefaultRoute> routes;
    auto r = net::parse_route_dump(d.bytes(), routes);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("overruns"));
}

TEST(NetlinkRoutes, ReportsAKernelError) {
    Datagram d;
    d.put(nlmsghdr{NLMSG_HDRLEN + sizeof(nlmsgerr), NLMSG_ERROR, 0, 1, 0});
    d.put(nlmsgerr{-EPERM, {}});
    std::vector<DefaultRoute> routes;
    auto r = net::parse_route_dump(d.bytes(), routes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::io);
    EXPECT_THAT(r.error().message, HasSubstr(std::strerror(EPERM)));
}

TEST(NetlinkRoutes, KernelDumpIsReadable) {
    auto routes = net::default_routes();
    ASSERT_TRUE(routes) << routes.error().message;
    for (const auto& r : *routes) EXPECT_NE(r.if_index, 0u);
}
