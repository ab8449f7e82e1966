#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <net/if.h>
#include <regex>
#include <warpgate/interface.hpp>

#include "net/netlink_routes.hpp"

using namespace warpgate;

namespace {

const Interface* find(const std::vector<Interface>& ifs, const std::string& name) {
    auto it = std::find_if(ifs.begin(), ifs.end(), [&](const Interface& i) { return i.name == name; });
    return it == ifs.end() ? nullptr : &*it;
}

std::vector<Interface> discover(DiscoverOptions options) {
    auto ifs = discover_interfaces(options);
    EXPECT_TRUE(ifs) << ifs.error().message;
    return ifs ? *ifs : std::vector<Interface>{};
}

// Whether the kernel gave lo an IPv6 address (not when IPv6 is disabled).
bool kernel_has_loopback_v6() {
    std::ifstream f("/proc/net/if_inet6");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("00000000000000000000000000000001", 0) == 0) return true;
    return false;
}

bool has_address(const Interface& nic, const char* ip, std::uint8_t prefix) {
    return std::find(nic.addresses.begin(), nic.addresses.end(), IfAddress{asio::ip::make_address(ip), prefix}) !=
           nic.addresses.end();
}

}  // namespace

TEST(Interfaces, LoopbackAppearsOnlyWhenAsked) {
    auto with = discover({.include_loopback = true});
    const auto* lo = find(with, "lo");
    ASSERT_NE(lo, nullptr);
    EXPECT_EQ(lo->index, if_nametoindex("lo"));
    EXPECT_TRUE(lo->loopback);
    EXPECT_TRUE(lo->up);
    EXPECT_TRUE(lo->mac.empty());
    EXPECT_TRUE(has_address(*lo, "127.0.0.1", 8));
    EXPECT_EQ(has_address(*lo, "::1", 128), kernel_has_loopback_v6());

    for (const auto& nic : discover({})) {
        EXPECT_NE(nic.name, "lo");
        EXPECT_FALSE(nic.loopback) << nic.name;
    }
}

TEST(Interfaces, EveryNicIsNamedIndexedAndAddressed) {
    const std::regex mac("([0-9a-f]{2}:)*[0-9a-f]{2}");
    for (const auto& nic : discover({.include_loopback = true, .include_down = true})) {
        EXPECT_NE(nic.index, 0u) << nic.name;
        EXPECT_EQ(nic.index, if_nametoindex(nic.name.c_str())) << nic.name;
        EXPECT_FALSE(nic.addresses.empty()) << nic.name;
        if (!nic.mac.empty()) {
            EXPECT_TRUE(std::regex_match(nic.mac, mac)) << nic.mac;
        }
        for (const auto& a : nic.addresses) {
            EXPECT_LE(a.prefix_len, a.ip.is_v6() ? 128 : 32) << a.ip;
            if (a.ip.is_v6()) {
                EXPECT_FALSE(a.ip.to_v6().is_link_local()) << a.ip;
            }
        }
        if (nic.gateway_v4) {
            EXPECT_TRUE(nic.gateway_v4->is_v4());
        }
        if (nic.gateway_v6) {
            EXPECT_TRUE(nic.gateway_v6->is_v6());
        }
    }
}

TEST(Interfaces, DownNicsOnlyWhenAsked) {
    for (const auto& nic : discover({.include_loopback = true})) EXPECT_TRUE(nic.up) << nic.name;
    auto all = discover({.include_loopback = true, .include_down = true});
    EXPECT_GE(all.size(), discover({.include_loopback = true}).size());
}

TEST(Interfaces, AddressesOfSplitsByFamily) {
    for (const auto& nic : discover({.include_loopback = true})) {
        auto v4 = nic.addresses_of(IP4), v6 = nic.addresses_of(IP6);
        EXPECT_EQ(v4.size() + v6.size(), nic.addresses.size());
        for (const auto& a : v4) EXPECT_TRUE(a.ip.is_v4());
        for (const auto& a : v6) EXPECT_TRUE(a.ip.is_v6());
        EXPECT_EQ(nic.has(IP4), !v4.empty());
        EXPECT_EQ(nic.has(IP6), !v6.empty());
    }
}

TEST(Interfaces, SupportedFamiliesAgreeWithTheAddresses) {
    auto ifs = discover({.include_loopback = true});
    bool v4 = false, v6 = false;
    for (const auto& nic : ifs)
        for (const auto& a : nic.addresses) (a.ip.is_v6() ? v6 : v4) = true;
    std::vector<Family> expected;
    if (v4) expected.push_back(IP4);
    if (v6) expected.push_back(IP6);
    EXPECT_EQ(supported_families(ifs), expected);
    EXPECT_TRUE(supported_families({}).empty());
}

TEST(Interfaces, GatewaysComeFromTheDefaultRoutes) {
    auto routes = net::default_routes();
    ASSERT_TRUE(routes) << routes.error().message;
    auto ifs = discover({.include_loopback = true, .include_down = true});
    for (const auto& route : *routes) {
        char name[IF_NAMESIZE];
        EXPECT_NE(if_indextoname(route.if_index, name), nullptr) << route.if_index;
        auto nic = std::find_if(ifs.begin(), ifs.end(), [&](const Interface& i) { return i.index == route.if_index; });
        if (nic == ifs.end()) continue;  // a NIC without addresses
        EXPECT_TRUE(route.gateway.is_v6() ? nic->gateway_v6.has_value() : nic->gateway_v4.has_value()) << nic->name;
    }
    for (const auto& nic : ifs) {
        for (const auto& gateway : {nic.gateway_v4, nic.gateway_v6}) {
            if (!gateway) continue;
            EXPECT_TRUE(std::any_of(routes->begin(), routes->end(), [&](const net::DefaultRoute& r) {
                return r.if_index == nic.index && r.gateway == *gateway;
            })) << nic.name;
        }
    }
}
