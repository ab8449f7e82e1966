// Interface discovery: NICs, addresses and MACs from getifaddrs(3), gateways from rtnetlink.
#include <warpgate/interface.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <map>
#include <memory>
#include <net/if.h>
#include <netinet/in.h>
#include "log.hpp"

#include "net/netlink_routes.hpp"

namespace warpgate {
namespace {

// A netmask as a CIDR prefix: its leading one bits.
std::uint8_t prefix_of(const std::uint8_t* mask, std::size_t size) {
    std::uint8_t prefix = 0;
    for (std::size_t i = 0; i < size; ++i) {
        prefix = static_cast<std::uint8_t>(prefix + std::countl_one(mask[i]));
        if (mask[i] != 0xff) break;
    }
    return prefix;
}

std::optional<IfAddress> address_of(const ifaddrs& entry) {
    const auto* sa = entry.ifa_addr;
    if (sa->sa_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        asio::ip::address_v4::bytes_type raw;
        std::memcpy(raw.data(), &in.sin_addr, raw.size());
        std::uint8_t prefix = 32;
        if (entry.ifa_netmask) {
            std::memcpy(&in, entry.ifa_netmask, sizeof in);
            prefix = prefix_of(reinterpret_cast<const std::uint8_t*>(&in.sin_addr), 4);
        }
        return IfAddress{asio::ip::address_v4(raw), prefix};
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        asio::ip::address_v6::bytes_type raw;
        std::memcpy(raw.data(), &in6.sin6_addr, raw.size());
        const asio::ip::address_v6 ip(raw);
        // fe80::/10 needs a scope id to be usable and means nothing to a remote peer.
        if (ip.is_link_local()) return std::nullopt;
        std::uint8_t prefix = 128;
        if (entry.ifa_netmask) {
            std::memcpy(&in6, entry.ifa_netmask, sizeof in6);
            prefix = prefix_of(reinterpret_cast<const std::uint8_t*>(&in6.sin6_addr), 16);
        }
        return IfAddress{ip, prefix};
    }
    return std::nullopt;
}

// "aa:bb:cc:dd:ee:ff" from an AF_PACKET entry; empty for no or an all-zero hardware address.
std::string mac_of(const sockaddr* sa) {
    sockaddr_ll ll{};
    std::memcpy(&ll, sa, sizeof ll);
    const auto length = std::min<std::size_t>(ll.sll_halen, sizeof ll.sll_addr);
    const auto* begin = ll.sll_addr;
    if (std::all_of(begin, begin + length, [](unsigned char b) { return b == 0; })) return {};
    std::string mac;
    for (std::size_t i = 0; i < length; ++i) mac += fmt::format("{}{:02x}", i ? ":" : "", begin[i]);
    return mac;
}

// IPv4 alias labels ("eth0:1") name the NIC before the colon.
std::string nic_name(const char* label) {
    std::string name(label);
    return name.substr(0, name.find(':'));
}

void add_gateways(std::map<std::uint32_t, Interface>& nics) {
    auto routes = net::default_routes();
    if (!routes) {
        log::warn("interfaces: no gateways: {}", routes.error().message);
        return;
    }
    std::stable_sort(routes->begin(), routes->end(), [](auto& a, auto& b) { return a.metric < b.metric; });
    for (const auto& route : *routes) {
        auto nic = nics.find(route.if_index);
        if (nic == nics.end()) continue;
        auto& gateway = route.gateway.is_v6() ? nic->second.gateway_v6 : nic->second.gateway_v4;
        if (!gateway) gateway = route.gateway;  // the lowest metric wins
    }
}

bool wanted(const Interface& nic, const DiscoverOptions& options) {
    if (nic.addresses.empty()) return false;
    if (nic.loopback && !options.include_loopback) return false;
    return nic.up || options.include_down;
}

}  // namespace

std::vector<IfAddress> Interface::addresses_of(Family f) const {
    std::vector<IfAddress> out;
    std::copy_if(addresses.begin(), addresses.end(), std::back_inserter(out),
                 [f](const IfAddress& a) { return family_of(a.ip) == f; });
    return out;
}

Result<std::vector<Interface>> discover_interfaces(DiscoverOptions options) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return fail(Errc::io, fmt::format("interfaces: getifaddrs: {}", std::strerror(errno)));
    const std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owner(list, &::freeifaddrs);

    std::map<std::uint32_t, Interface> nics;  // by index: the kernel's order
    for (const auto* entry = list; entry; entry = entry->ifa_next) {
        const auto name = nic_name(entry->ifa_name);
        const auto index = ::if_nametoindex(name.c_str());
        if (index == 0) continue;  // gone since getifaddrs
        auto& nic = nics[index];
        nic.name = name;
        nic.index = index;
        nic.up = nic.up || (entry->ifa_flags & IFF_UP);
        nic.loopback = nic.loopback || (entry->ifa_flags & IFF_LOOPBACK);
        if (!entry->ifa_addr) continue;
        if (entry->ifa_addr->sa_family == AF_PACKET) {
            nic.mac = mac_of(entry->ifa_addr);
        } else if (auto address = address_of(*entry)) {
            if (std::find(nic.addresses.begin(), nic.addresses.end(), *address) == nic.addresses.end())
                nic.addresses.push_back(*address);
        }
    }
    add_gateways(nics);

    std::vector<Interface> out;
    for (auto& [index, nic] : nics)
        if (wanted(nic, options)) out.push_back(std::move(nic));
    return out;
}

std::vector<Family> supported_families(const std::vector<Interface>& ifs) {
    std::vector<Family> out;
    for (auto f : {IP4, IP6})
        if (std::any_of(ifs.begin(), ifs.end(), [f](const Interface& nic) { return nic.has(f); })) out.push_back(f);
    return out;
}

}  // namespace warpgate
