#include "traversal/dial_policy.hpp"

#include <algorithm>

namespace warpgate::traversal {

bool same_subnet(const asio::ip::address& a, const asio::ip::address& b, unsigned prefix) {
    if (a.is_v4() != b.is_v4()) return false;
    if (prefix < (a.is_v4() ? 8u : 48u)) return false;
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

bool is_private(const asio::ip::address& ip) {
    if (ip.is_v4()) {
        auto b = ip.to_v4().to_bytes();
        return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) ||
               (b[0] == 100 && (b[1] & 0xC0) == 64) || (b[0] == 169 && b[1] == 254);
    }
    auto v6 = ip.to_v6();
    auto b = v6.to_bytes();
    return v6.is_link_local() || (b[0] & 0xFE) == 0xFC;
}

bool may_dial_for_peer(const Endpoint& target, const std::vector<Interface>& ours, const NodeAddress& own_address) {
    auto& ip = target.ip;
    if (ip.is_unspecified() || ip.is_multicast() || target.port == 0) return false;
    if (ip.is_v4() && ip.to_v4() == asio::ip::address_v4::broadcast()) return false;
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) return false;
    for (auto& entry : own_address.entries(ip.is_v6() ? IP6 : IP4))
        if ((entry.nic_ip == ip || entry.external_ip == ip) && entry.port == target.port) return false;
    auto& entries = own_address.entries(ip.is_v6() ? IP6 : IP4);
    // Loopback is a network only a node that listens on loopback shares (tests, one machine).
    if (ip.is_loopback())
        return std::any_of(entries.begin(), entries.end(), [](const AddressEntry& e) { return e.nic_ip.is_loopback(); });
    if (!is_private(ip)) return true;
    for (auto& nic : ours)
        for (auto& a : nic.addresses)
            if (!a.ip.is_loopback() && same_subnet(a.ip, ip, a.prefix_len)) return true;
    return false;
}

}  // namespace warpgate::traversal
