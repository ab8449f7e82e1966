// NAT behaviour as the original names and numbers it (its codes travel in node addresses).
#pragma once
#include <cstdint>
#include <string_view>

namespace warpgate {

enum class NatType : std::uint8_t {
    unknown = 0,            // not measured (STUN disabled)
    open_internet = 1,      // mapped address == local address
    symmetric_udp_firewall = 2,  // no NAT, but unsolicited inbound is filtered
    full_cone = 3,          // endpoint-independent mapping and filtering
    restricted = 4,         // address-restricted cone
    port_restricted = 5,    // address-and-port-restricted cone
    symmetric = 6,          // endpoint-dependent mapping
    blocked = 7,            // no STUN reply at all
};

// How the NAT allocates external ports; hole punching predicts ports from it.
enum class DeltaType : std::uint8_t {
    unknown = 0,
    not_applicable = 1,  // no NAT
    equal = 2,           // external port == local port
    preserving = 3,      // distance between mapped ports mirrors the local distance
    independent = 4,     // mapped ports step by a fixed delta whatever the local port
    dependent = 5,       // they step only when the local port steps
    random = 6,
};

// What a new mapping depends on (RFC 4787 section 4.1, measured as RFC 5780 section 4.3 says).
// The original's NatType says only "symmetric" for the two dependent kinds; a punch through an
// address-dependent NAT can reuse one mapping for every port of the peer's address.
enum class MappingBehaviour : std::uint8_t {
    unknown = 0,
    endpoint_independent = 1,
    address_dependent = 2,          // one mapping per remote IP
    address_and_port_dependent = 3, // one mapping per remote IP and port
};

struct NatInfo {
    NatType type = NatType::unknown;
    DeltaType delta_type = DeltaType::unknown;
    std::int32_t delta_value = 0;  // the step, for independent / dependent
    MappingBehaviour mapping = MappingBehaviour::unknown;
    friend bool operator==(const NatInfo&, const NatInfo&) = default;
};

std::string_view to_string(NatType t) noexcept;
std::string_view to_string(DeltaType t) noexcept;
std::string_view to_string(MappingBehaviour m) noexcept;

}  // namespace warpgate
