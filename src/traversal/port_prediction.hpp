// Port prediction for hole punching: from how a NAT allocates external ports (its delta type
// and step, nat/delta.hpp) and the last mapping seen, the external port(s) a node's next flow
// will leave its NAT from. Each side predicts its own ports and tells the peer over
// signaling, which dials them. Pure logic, no I/O.
//
//   delta             next external port(s) of a flow from local port L
//   not_applicable    L (no NAT)
//   equal             L
//   preserving        L + value; or, from an observation (l0 -> m0), m0 + (L - l0)
//   independent       every new flow takes the next port whatever L: m0 + k*step, k = 1..n,
//                     from the freshest mapping m0 (needs one measured just before the punch)
//   dependent         only a new local port takes a new mapping: m0 when the observation is
//                     L's own, else m0 + k*step (L gets a mapping after the observed one)
//   random            none: nothing to predict
//   unknown           the observed mapping of L, else L (a NAT that was not measured most
//                     likely keeps the port, as Linux and most consumer routers do when free)
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/nat.hpp>

#include "nat/delta.hpp"

namespace warpgate::traversal {

struct PortPrediction {
    std::vector<std::uint16_t> ports;  // most likely first, no duplicates, never 0
    std::string why_none;              // when ports is empty: why nothing can be predicted
    bool empty() const { return ports.empty(); }
};

// Whether the prediction needs a mapping observed just before the punch (a NAT that hands
// out ports per flow, so the listen socket's old mapping says nothing of the next one).
bool needs_fresh_mapping(const NatInfo& nat);

// Why a punch cannot predict this NAT's ports at all (random allocation, or an endpoint-
// dependent mapping whose allocation was not measured); empty when it can.
std::string why_unpredictable(const NatInfo& nat);

// The external ports of the next flow from `local_port` through a NAT behaving as `nat`, given
// the last mapping observed (`observed.local` -> `observed.mapped`), at most `max_candidates`.
PortPrediction predict_ports(const NatInfo& nat, std::uint16_t local_port, std::optional<nat::PortSample> observed,
                             std::size_t max_candidates = 4);

}  // namespace warpgate::traversal
