// Port mappings a router granted the node (UPnP-IGD, NAT-PMP or PCP): what Node::port_mappings()
// reports and what NodeConfig::port_mapping_protocol forces. docs/port-mapping.md.
#pragma once
#include <chrono>
#include <cstdint>
#include <string_view>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

namespace warpgate {

// `any` tries PCP, then NAT-PMP, then UPnP-IGD, and keeps the first that maps.
enum class PortMappingProtocol : std::uint8_t { any = 0, pcp = 1, natpmp = 2, upnp = 3 };
const char* to_string(PortMappingProtocol p) noexcept;  // "any", "pcp", "natpmp", "upnp"
Result<PortMappingProtocol> parse_port_mapping_protocol(std::string_view text);

struct PortMapping {
    PortMappingProtocol protocol = PortMappingProtocol::any;
    Transport transport = TCP;
    Endpoint internal;  // the listen socket
    Endpoint external;  // where the router forwards from
    std::chrono::seconds lease{0};  // as granted at the last renewal
    std::chrono::steady_clock::time_point renewed{};  // when it was last granted
    std::uint32_t restored = 0;  // times re-created after the router lost it (restart)
    friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

}  // namespace warpgate
