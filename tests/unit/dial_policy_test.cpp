// The dial policy for signal-triggered dials (traversal/dial_policy.hpp): which targets a
// connect_back request may make this node dial.
#include <gtest/gtest.h>

#include "traversal/dial_policy.hpp"

using namespace warpgate;
using namespace warpgate::traversal;

namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }
Endpoint at(const char* text, std::uint16_t port = 4000) { return {ip(text), port}; }

// A node on a home LAN (192.168.1.20/24, eth0 = index 2) and a ULA (fd00:1:2:3::20/64),
// listening on port 7000.
DialScope home_lan() {
    DialScope scope;
    scope.networks = {{ip("192.168.1.20"), 24, 2}, {ip("fd00:1:2:3::20"), 64, 2}};
    scope.own_endpoints = {at("192.168.1.20", 7000), at("fd00:1:2:3::20", 7000), at("203.0.113.9", 7000)};
    return scope;
}

}  // namespace

TEST(DialPolicy, PublicAddressesAreAllowed) {
    auto scope = home_lan();
    EXPECT_EQ(check_dial_target(scope, at("198.51.100.7")), DialVerdict::allowed);
    EXPECT_EQ(check_dial_target(scope, at("8.8.8.8")), DialVerdict::allowed);
    EXPECT_EQ(check_dial_target(scope, at("2001:db8::7")), DialVerdict::allowed);
    EXPECT_EQ(check_dial_target(scope, at("::ffff:198.51.100.7")), DialVerdict::allowed);
}

TEST(DialPolicy, LoopbackIsRefusedUnlessConfigured) {
    auto scope = home_lan();
    EXPECT_EQ(check_dial_target(scope, at("127.0.0.1")), DialVerdict::loopback);
    EXPECT_EQ(check_dial_target(scope, at("127.8.9.10")), DialVerdict::loopback);
    EXPECT_EQ(check_dial_target(scope, at("::1")), DialVerdict::loopback);
    EXPECT_EQ(check_dial_target(scope, at("::ffff:127.0.0.1")), DialVerdict::loopback) << "an IPv4-mapped form is the same address";
    scope.allow_loopback = true;
    EXPECT_EQ(check_dial_target(scope, at("127.0.0.1")), DialVerdict::allowed);
}

TEST(DialPolicy, LanTargetOnlyInOurOwnSubnet) {
    auto scope = home_lan();
    EXPECT_EQ(check_dial_target(scope, at("192.168.1.77")), DialVerdict::allowed) << "same /24";
    EXPECT_EQ(check_dial_target(scope, at("192.168.2.77")), DialVerdict::private_not_ours) << "next /24";
    EXPECT_EQ(check_dial_target(scope, at("10.0.0.1")), DialVerdict::private_not_ours);
    EXPECT_EQ(check_dial_target(scope, at("172.16.5.5")), DialVerdict::private_not_ours);
    EXPECT_EQ(check_dial_target(scope, at("100.64.1.2")), DialVerdict::private_not_ours) << "carrier-grade NAT space";
    EXPECT_EQ(check_dial_target(scope, at("::ffff:10.0.0.1")), DialVerdict::private_not_ours);
    EXPECT_EQ(check_dial_target(scope, at("fd00:1:2:3::99")), DialVerdict::allowed) << "same ULA /64";
    EXPECT_EQ(check_dial_target(scope, at("fd00:9::1")), DialVerdict::private_not_ours);
}

TEST(DialPolicy, ShortPrefixesNeverMakeEverythingLan) {
    DialScope scope;
    scope.networks = {{ip("10.1.2.3"), 0, 2}, {ip("192.168.0.1"), 4, 3}, {ip("fd00::1"), 16, 2}};
    EXPECT_EQ(check_dial_target(scope, at("10.200.0.1")), DialVerdict::private_not_ours) << "prefix 0";
    EXPECT_EQ(check_dial_target(scope, at("192.168.7.7")), DialVerdict::private_not_ours) << "prefix 4";
    EXPECT_EQ(check_dial_target(scope, at("fd00:5::1")), DialVerdict::private_not_ours) << "IPv6 prefix 16";
    scope.networks = {{ip("10.1.2.3"), 8, 2}, {ip("fd00::1"), 48, 2}};
    EXPECT_EQ(check_dial_target(scope, at("10.200.0.1")), DialVerdict::allowed) << "a /8 is still one network";
    EXPECT_EQ(check_dial_target(scope, at("fd00:0:0:7::1")), DialVerdict::allowed) << "a /48 is still one site";

    EXPECT_FALSE(same_subnet(ip("1.2.3.4"), ip("200.1.1.1"), 0));
    EXPECT_FALSE(same_subnet(ip("10.1.1.1"), ip("10.2.2.2"), 7));
    EXPECT_TRUE(same_subnet(ip("10.1.1.1"), ip("10.2.2.2"), 8));
    EXPECT_FALSE(same_subnet(ip("2001:db8::1"), ip("2001:db8:ffff::1"), 47));
    EXPECT_TRUE(same_subnet(ip("2001:db8::1"), ip("2001:db8:0:ffff::1"), 48));
    EXPECT_FALSE(same_subnet(ip("10.1.1.1"), ip("::ffff:10.1.1.1"), 24)) << "families differ";
}

TEST(DialPolicy, LinkLocalOnlyOnOurLink) {
    auto scope = home_lan();
    EXPECT_EQ(check_dial_target(scope, at("fe80::1")), DialVerdict::link_local_elsewhere) << "no scope id: no link";
    auto scoped = asio::ip::make_address_v6("fe80::1");
    scoped.scope_id(2);
    EXPECT_EQ(check_dial_target(scope, Endpoint{scoped, 4000}), DialVerdict::link_local_elsewhere) << "we have no link-local address";
    scope.networks.push_back({ip("fe80::20"), 64, 2});
    EXPECT_EQ(check_dial_target(scope, Endpoint{scoped, 4000}), DialVerdict::allowed) << "our link";
    scoped.scope_id(5);
    EXPECT_EQ(check_dial_target(scope, Endpoint{scoped, 4000}), DialVerdict::link_local_elsewhere) << "another link";

    EXPECT_EQ(check_dial_target(scope, at("169.254.3.4")), DialVerdict::link_local_elsewhere);
    scope.networks.push_back({ip("169.254.9.9"), 16, 4});
    EXPECT_EQ(check_dial_target(scope, at("169.254.3.4")), DialVerdict::allowed) << "IPv4 link-local on our link's subnet";
}

TEST(DialPolicy, SpecialAddressesAndOurOwnEndpointsAreRefused) {
    auto scope = home_lan();
    EXPECT_EQ(check_dial_target(scope, at("0.0.0.0")), DialVerdict::unspecified);
    EXPECT_EQ(check_dial_target(scope, at("::")), DialVerdict::unspecified);
    EXPECT_EQ(check_dial_target(scope, at("0.1.2.3")), DialVerdict::reserved);
    EXPECT_EQ(check_dial_target(scope, at("240.0.0.1")), DialVerdict::reserved);
    EXPECT_EQ(check_dial_target(scope, at("64:ff9b::7f00:1")), DialVerdict::reserved) << "NAT64 of 127.0.0.1";
    EXPECT_EQ(check_dial_target(scope, at("64:ff9b::c633:6407")), DialVerdict::allowed) << "NAT64 of 198.51.100.7";
    EXPECT_EQ(check_dial_target(scope, at("224.0.0.1")), DialVerdict::multicast);
    EXPECT_EQ(check_dial_target(scope, at("ff02::1")), DialVerdict::multicast);
    EXPECT_EQ(check_dial_target(scope, at("255.255.255.255")), DialVerdict::broadcast);
    EXPECT_EQ(check_dial_target(scope, at("192.168.1.255")), DialVerdict::broadcast) << "our subnet's broadcast";
    EXPECT_EQ(check_dial_target(scope, at("198.51.100.7", 0)), DialVerdict::no_port);
    EXPECT_EQ(check_dial_target(scope, at("192.168.1.20", 7000)), DialVerdict::own_endpoint);
    EXPECT_EQ(check_dial_target(scope, at("203.0.113.9", 7000)), DialVerdict::own_endpoint) << "our external address";
    EXPECT_EQ(check_dial_target(scope, at("::ffff:192.168.1.20", 7000)), DialVerdict::own_endpoint);
    EXPECT_EQ(check_dial_target(scope, at("192.168.1.20", 22)), DialVerdict::own_address) << "another service on this machine";
    EXPECT_EQ(check_dial_target(scope, at("203.0.113.9", 7001)), DialVerdict::allowed) << "our NAT's public address, other port";
    scope.allow_loopback = true;
    EXPECT_EQ(check_dial_target(scope, at("192.168.1.20", 22)), DialVerdict::allowed) << "this machine may be dialed";
    scope.own_endpoints.push_back(at("127.0.0.1", 7000));
    EXPECT_EQ(check_dial_target(scope, at("127.0.0.1", 7000)), DialVerdict::own_endpoint) << "loopback allowed, but never ourselves";
}

TEST(DialPolicy, VerdictNamesAreStable) {
    EXPECT_EQ(to_string(DialVerdict::loopback), "loopback");
    EXPECT_EQ(to_string(DialVerdict::private_not_ours), "private_not_ours");
    EXPECT_EQ(to_string(DialVerdict::link_local_elsewhere), "link_local_elsewhere");
}
