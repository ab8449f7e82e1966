// Which UDP punch a pair of NATs gets, from the NAT facts each node address carries:
//
//   offerer \ answerer      cone / none        sequential        random symmetric
//   cone / none             plain              plain             plain, or birthday when the
//                                                                cone filters by port
//   sequential              plain              plain (aligned)   declined
//   random symmetric        plain / birthday   declined          declined (relay)
//
// plain: both probe each other's candidates from their listen sockets; a sequential side's
// candidates are its predicted next ports, and two sequential sides probe their lists in the
// same order so that the j-th new flow of one meets the j-th of the other. A random symmetric
// NAT needs the other side to take its probes wherever they come from (full cone, address-
// restricted: a plain punch with peer-reflexive answers) or birthday probing (port-restricted
// cone). Against a port-dependent mapping (sequential or random) nothing aims at a random
// port: that pair, like random x random, is the relay's.
#pragma once
#include <optional>
#include <string>
#include <warpgate/nat.hpp>

#include "traversal/udp_punch_message.hpp"

namespace warpgate::traversal {

// Endpoint-dependent mapping whose ports cannot be predicted.
bool is_random_symmetric(const NatInfo& nat) noexcept;
// Endpoint-dependent mapping with a known step (the lab's "sequential").
bool is_predictable_symmetric(const NatInfo& nat) noexcept;

struct PunchChoice {
    std::optional<PunchMode> mode;  // nullopt: declined, see why_not
    std::string why_not;
};
PunchChoice choose_punch(const NatInfo& offerer, const NatInfo& answerer);

}  // namespace warpgate::traversal
