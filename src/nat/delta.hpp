// How a NAT allocates external ports (the original's delta types), from the mappings of
// several local ports: hole punching predicts the next external port from it.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <warpgate/nat.hpp>

namespace warpgate::nat {

struct PortSample {
    std::uint16_t local = 0;
    std::uint16_t mapped = 0;
    friend bool operator==(const PortSample&, const PortSample&) = default;
};

// Local ports are taken at these distances from a base port, in this order. The distances
// differ (1, 2, 3) so that a NAT mirroring them (preserving) cannot be mistaken for one that
// steps by a constant (independent / dependent).
inline constexpr std::array<std::uint16_t, 4> sample_offsets{0, 1, 3, 6};

struct Delta {
    DeltaType type = DeltaType::unknown;
    std::int32_t value = 0;
    friend bool operator==(const Delta&, const Delta&) = default;
};

// From the samples, mapped in the order given (one new mapping each, to the same server):
//   no NAT (open internet, symmetric UDP firewall)  -> not applicable
//   every mapped port == its local port              -> equal
//   mapped distances == local distances              -> preserving, value = mapped - local
//   mapped distances all == d (d != 0):
//     on a symmetric NAT, where each new mapping takes the next port whatever the local
//     port                                           -> independent, value = d
//     on a cone NAT, where only a new local port takes a new mapping -> dependent, value = d
//   anything else                                    -> random
// Unknown when the NAT type is unknown or blocked or fewer than 3 samples were taken.
Delta classify_delta(NatType type, std::span<const PortSample> samples);

}  // namespace warpgate::nat
