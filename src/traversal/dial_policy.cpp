#include "traversal/dial_policy.hpp"

#include <algorithm>
#include <array>

namespace warpgate::traversal {
namespace {

// An IPv4 address carried in IPv6 (::ffff:a.b.c.d) is that IPv4 address: the socket dials it.
asio::ip::address unmapped(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}

bool in_v4(const asio::ip::address_v4& a, std::uint32_t network, unsigned prefix) {
    auto mask = prefix == 0 ? 0u : ~0u << (32 - prefix);
    return (a.to_uint() & mask) == (network & mask);
}

// RFC 1918 and RFC 6598 (carrier-grade NAT shared space): reachable only inside that network.
bool private_v4(const asio::ip::address_v4& a) {
    return in_v4(a, 0x0A000000, 8) || in_v4(a, 0xAC100000, 12) || in_v4(a, 0xC0A80000, 16) || in_v4(a, 0x64400000, 10);
}

bool public_v4(const asio::ip::address_v4& a) {
    return !(in_v4(a, 0, 8) || a.is_loopback() || a.is_multicast() || in_v4(a, 0xF0000000, 4) || in_v4(a, 0xA9FE0000, 16) ||
             private_v4(a));
}

// Unique local (fc00::/7) and the deprecated site-local (fec0::/10).
bool private_v6(const asio::ip::address_v6& a) {
    auto b = a.to_bytes();
    return (b[0] & 0xFE) == 0xFC || a.is_site_local();
}

// RFC 6052's well-known NAT64 prefix 64:ff9b::/96: a NAT64 gateway dials the IPv4 address in
// its last 32 bits.
bool nat64_of_non_public(const asio::ip::address_v6& a) {
    static constexpr std::array<std::uint8_t, 12> prefix = {0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    auto b = a.to_bytes();
    if (!std::equal(prefix.begin(), prefix.end(), b.begin())) return false;
    return !public_v4(asio::ip::address_v4({b[12], b[13], b[14], b[15]}));
}

bool our_subnet_broadcast(const DialScope& scope, const asio::ip::address_v4& target) {
    for (auto& n : scope.networks) {
        auto ip = unmapped(n.ip);
        if (!ip.is_v4() || n.prefix_len > 30 || !same_subnet(ip, target, n.prefix_len)) continue;
        auto host_bits = ~0u >> n.prefix_len;
        if ((target.to_uint() & host_bits) == host_bits) return true;
    }
    return false;
}

bool in_our_networks(const DialScope& scope, const asio::ip::address& target) {
    return std::any_of(scope.networks.begin(), scope.networks.end(),
                       [&](const LocalNetwork& n) { return same_subnet(unmapped(n.ip), target, n.prefix_len); });
}

// An IPv6 link-local address means nothing without its link: the target must name one of our
// interfaces (scope id) on which we have a link-local address ourselves.
bool on_our_link(const DialScope& scope, const asio::ip::address_v6& target) {
    if (target.scope_id() == 0) return false;
    return std::any_of(scope.networks.begin(), scope.networks.end(), [&](const LocalNetwork& n) {
        return n.ip.is_v6() && n.ip.to_v6().is_link_local() && n.if_index == target.scope_id();
    });
}

bool own(const DialScope& scope, const asio::ip::address& ip, std::uint16_t port) {
    return std::any_of(scope.own_endpoints.begin(), scope.own_endpoints.end(),
                       [&](const Endpoint& e) { return e.port == port && unmapped(e.ip) == ip; });
}

}  // namespace

bool same_subnet(const asio::ip::address& a, const asio::ip::address& b, unsigned prefix) {
    if (a.is_v4() != b.is_v4()) return false;
    if (prefix < (a.is_v4() ? min_lan_prefix_v4 : min_lan_prefix_v6)) return false;
    std::array<std::uint8_t, 16> ab{}, bb{};
    std::size_t len = 4;
    if (a.is_v4()) {
        auto a4 = a.to_v4().to_bytes(), b4 = b.to_v4().to_bytes();
        std::copy(a4.begin(), a4.end(), ab.begin());
        std::copy(b4.begin(), b4.end(), bb.begin());
    } else {
        ab = a.to_v6().to_bytes();
        bb = b.to_v6().to_bytes();
        len = 16;
    }
    for (std::size_t bit = 0; bit < std::min<std::size_t>(prefix, len * 8); ++bit) {
        auto mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
        if ((ab[bit / 8] & mask) != (bb[bit / 8] & mask)) return false;
    }
    return true;
}

std::string_view to_string(DialVerdict verdict) {
    switch (verdict) {
        case DialVerdict::allowed: return "allowed";
        case DialVerdict::no_port: return "no_port";
        case DialVerdict::unspecified: return "unspecified";
        case DialVerdict::reserved: return "reserved";
        case DialVerdict::multicast: return "multicast";
        case DialVerdict::broadcast: return "broadcast";
        case DialVerdict::own_endpoint: return "own_endpoint";
        case DialVerdict::loopback: return "loopback";
        case DialVerdict::own_address: return "own_address";
        case DialVerdict::link_local_elsewhere: return "link_local_elsewhere";
        case DialVerdict::private_not_ours: return "private_not_ours";
    }
    return "unknown";
}

DialVerdict check_dial_target(const DialScope& scope, const Endpoint& target) {
    auto ip = unmapped(target.ip);
    if (target.port == 0) return DialVerdict::no_port;
    if (ip.is_unspecified()) return DialVerdict::unspecified;
    if (ip.is_multicast()) return DialVerdict::multicast;
    if (ip.is_v4()) {
        auto v4 = ip.to_v4();
        if (v4 == asio::ip::address_v4::broadcast() || our_subnet_broadcast(scope, v4)) return DialVerdict::broadcast;
        if (in_v4(v4, 0, 8) || in_v4(v4, 0xF0000000, 4)) return DialVerdict::reserved;
    } else if (nat64_of_non_public(ip.to_v6())) {
        return DialVerdict::reserved;
    }
    if (own(scope, ip, target.port)) return DialVerdict::own_endpoint;
    if (ip.is_loopback()) return scope.allow_loopback ? DialVerdict::allowed : DialVerdict::loopback;
    bool ours = std::any_of(scope.networks.begin(), scope.networks.end(), [&](const LocalNetwork& n) { return unmapped(n.ip) == ip; });
    if (ours && !scope.allow_loopback) return DialVerdict::own_address;
    if (ip.is_v4()) {
        auto v4 = ip.to_v4();
        // IPv4 link-local (169.254/16) has no scope id: sharing the subnet is sharing the link.
        if (in_v4(v4, 0xA9FE0000, 16)) return in_our_networks(scope, ip) ? DialVerdict::allowed : DialVerdict::link_local_elsewhere;
        if (private_v4(v4)) return in_our_networks(scope, ip) ? DialVerdict::allowed : DialVerdict::private_not_ours;
        return DialVerdict::allowed;
    }
    auto v6 = ip.to_v6();
    if (v6.is_link_local()) return on_our_link(scope, v6) ? DialVerdict::allowed : DialVerdict::link_local_elsewhere;
    if (private_v6(v6)) return in_our_networks(scope, ip) ? DialVerdict::allowed : DialVerdict::private_not_ours;
    return DialVerdict::allowed;
}

}  // namespace warpgate::traversal
