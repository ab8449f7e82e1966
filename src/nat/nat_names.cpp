#include <warpgate/nat.hpp>

namespace warpgate {

std::string_view to_string(NatType t) noexcept {
    switch (t) {
        case NatType::unknown: return "unknown";
        case NatType::open_internet: return "open internet";
        case NatType::symmetric_udp_firewall: return "symmetric UDP firewall";
        case NatType::full_cone: return "full cone";
        case NatType::restricted: return "restricted";
        case NatType::port_restricted: return "port restricted";
        case NatType::symmetric: return "symmetric";
        case NatType::blocked: return "blocked";
    }
    return "invalid";
}

std::string_view to_string(DeltaType t) noexcept {
    switch (t) {
        case DeltaType::unknown: return "unknown";
        case DeltaType::not_applicable: return "not applicable";
        case DeltaType::equal: return "equal";
        case DeltaType::preserving: return "preserving";
        case DeltaType::independent: return "independent";
        case DeltaType::dependent: return "dependent";
        case DeltaType::random: return "random";
    }
    return "invalid";
}

std::string_view to_string(MappingBehaviour m) noexcept {
    switch (m) {
        case MappingBehaviour::unknown: return "unknown";
        case MappingBehaviour::endpoint_independent: return "endpoint-independent";
        case MappingBehaviour::address_dependent: return "address-dependent";
        case MappingBehaviour::address_and_port_dependent: return "address-and-port-dependent";
    }
    return "invalid";
}

}  // namespace warpgate
