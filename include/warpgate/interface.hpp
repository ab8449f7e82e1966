// Network interfaces: every NIC with its IPv4/IPv6 addresses, netmask, MAC and gateway.
#pragma once
#include <asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

namespace warpgate {

struct IfAddress {
    asio::ip::address ip;
    std::uint8_t prefix_len = 0;  // the netmask, as a CIDR prefix
    friend bool operator==(const IfAddress&, const IfAddress&) = default;
};

struct Interface {
    std::string name;
    std::uint32_t index = 0;
    std::string mac;  // "aa:bb:cc:dd:ee:ff", empty when the NIC has none
    bool up = false;
    bool loopback = false;
    std::vector<IfAddress> addresses;            // both families; IPv6 link-local excluded
    std::optional<asio::ip::address> gateway_v4;  // default route through this NIC
    std::optional<asio::ip::address> gateway_v6;

    std::vector<IfAddress> addresses_of(Family f) const;
    bool has(Family f) const { return !addresses_of(f).empty(); }
};

struct DiscoverOptions {
    bool include_loopback = false;  // loopback-only NICs (lo) are skipped unless asked
    bool include_down = false;
};

// Reads NICs from getifaddrs and gateways from the kernel's routing tables (netlink).
Result<std::vector<Interface>> discover_interfaces(DiscoverOptions options = {});

// The address families present across the given interfaces (the original's supported()).
std::vector<Family> supported_families(const std::vector<Interface>& ifs);

}  // namespace warpgate
