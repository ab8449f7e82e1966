#include "traversal/udp_punch_plan.hpp"

namespace warpgate::traversal {
namespace {

bool endpoint_dependent(const NatInfo& nat) noexcept {
    return nat.type == NatType::symmetric || nat.mapping == MappingBehaviour::address_and_port_dependent;
}

}  // namespace

bool is_random_symmetric(const NatInfo& nat) noexcept {
    return endpoint_dependent(nat) && (nat.delta_type == DeltaType::random || nat.delta_type == DeltaType::unknown);
}

bool is_predictable_symmetric(const NatInfo& nat) noexcept { return endpoint_dependent(nat) && !is_random_symmetric(nat); }

PunchChoice choose_punch(const NatInfo& offerer, const NatInfo& answerer) {
    if (offerer.type == NatType::blocked || answerer.type == NatType::blocked)
        return {std::nullopt, "a side's UDP is blocked (no STUN answer)"};
    bool hard_offerer = is_random_symmetric(offerer), hard_answerer = is_random_symmetric(answerer);
    if (hard_offerer && hard_answerer) return {std::nullopt, "both NATs are random symmetric: no direct UDP path (the relay's job)"};
    if (!hard_offerer && !hard_answerer) return {PunchMode::plain, {}};
    auto& easy = hard_offerer ? answerer : offerer;
    if (endpoint_dependent(easy))
        return {std::nullopt, "a random symmetric NAT against a port-dependent mapping: no port to aim at (the relay's job)"};
    if (easy.type != NatType::port_restricted) return {PunchMode::plain, {}};  // its filter takes any port of the peer
    return {hard_offerer ? PunchMode::offerer_hard : PunchMode::answerer_hard, {}};
}

}  // namespace warpgate::traversal
