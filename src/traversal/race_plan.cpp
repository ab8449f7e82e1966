#include "traversal/race_plan.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace warpgate::traversal {
namespace {

constexpr Phase phase_order[] = {Phase::direct, Phase::punch, Phase::spray, Phase::relay};

const AddressEntry* entry_at(const NodeAddress& node, const Endpoint& target) {
    for (auto* list : {&node.v4, &node.v6})
        for (auto& e : *list)
            if (e.external_endpoint() == target) return &e;
    return nullptr;
}

// The peer entry a punch aims at: the one owning the target's address, else the family's first.
const AddressEntry* entry_for(const NodeAddress& node, const Attempt& attempt) {
    auto& entries = node.entries(attempt.family);
    for (auto& e : entries)
        if (e.external_ip == attempt.target.ip) return &e;
    return entries.empty() ? nullptr : &entries.front();
}

// What stops an unsolicited packet (a dial) from reaching a node behind `nat`, if anything.
std::optional<std::string> barrier(const NatInfo& nat, Transport transport) {
    auto type = nat.type;
    if (type == NatType::restricted || type == NatType::port_restricted || type == NatType::symmetric)
        return fmt::format("a {} NAT", to_string(type));
    if (type == NatType::symmetric_udp_firewall) return std::string("a symmetric UDP firewall");
    // No STUN reply at all says UDP does not pass; it says nothing about TCP.
    if (type == NatType::blocked && transport == UDP) return std::string("a network that blocks UDP (no STUN reply)");
    return std::nullopt;
}

bool random_symmetric(const NatInfo& nat) { return nat.type == NatType::symmetric && nat.delta_type == DeltaType::random; }

// UDP spraying (birthday probing, traversal/birthday.hpp) meets a port-restricted cone too:
// only two port-dependent mappings leave it nothing to aim at.
std::string punch_barrier(const NatInfo& ours, const NatInfo& theirs, Transport transport, Phase phase) {
    if (transport == UDP && ours.type == NatType::blocked) return "our network blocks UDP (no STUN reply): no punch gets out";
    if (transport == UDP && theirs.type == NatType::blocked) return "the peer's network blocks UDP (no STUN reply): no punch gets in";
    auto filters_by_port = [&](const NatInfo& nat) {
        return nat.type == NatType::symmetric || (nat.type == NatType::port_restricted && !(phase == Phase::spray && transport == UDP));
    };
    if (random_symmetric(ours) && filters_by_port(theirs))
        return fmt::format("our symmetric NAT picks random ports and the peer's {} NAT filters by port: no port to predict",
                           to_string(theirs.type));
    if (random_symmetric(theirs) && filters_by_port(ours))
        return fmt::format("the peer's symmetric NAT picks random ports and our {} NAT filters by port: no port to predict",
                           to_string(ours.type));
    return {};
}

std::string skip_reason(const NodeAddress& ours, const NodeAddress& peer, Transport transport, Phase phase, const Attempt& a) {
    if (phase == Phase::direct) {
        if (a.route != Route::external) return {};
        if (auto* theirs = entry_at(peer, a.target)) {
            auto why = barrier(theirs->nat, transport);
            return why ? "peer is behind " + *why + ": no mapping to dial" : std::string();
        }
        // Aimed at our own external address: the peer is to dial us (reverse_connect).
        if (auto* mine = entry_at(ours, a.target)) {
            auto why = barrier(mine->nat, transport);
            return why ? "we are behind " + *why + ": the peer cannot dial us" : std::string();
        }
        return {};
    }
    if (phase == Phase::punch || phase == Phase::spray) {
        auto* mine = entry_for(ours, a);
        auto* theirs = entry_for(peer, a);
        if (!mine || !theirs) return {};
        return punch_barrier(mine->nat, theirs->nat, transport, phase);
    }
    return {};  // a relay reaches everyone who can reach the relay
}

}  // namespace

std::vector<PlannedAttempt> plan_race(const NodeAddress& ours, const NodeAddress& peer, Transport transport,
                                      const std::vector<Proposal>& proposals, const RaceLimits& limits) {
    auto wave_size = std::max<std::size_t>(limits.max_half_open, 1);
    std::vector<PlannedAttempt> plan;
    std::size_t flows = 0;
    std::chrono::milliseconds phase_start{0};
    for (auto phase : phase_order) {
        // The relay allocates early; auto_connect holds its link back until the budget ends.
        if (phase == Phase::relay) phase_start = std::min(phase_start, limits.relay_after / 2);
        std::vector<PlannedAttempt> here;
        for (auto& proposal : proposals)
            if (proposal.phase == phase)
                for (auto& attempt : proposal.attempts)
                    here.push_back({attempt, phase, phase_start, skip_reason(ours, peer, transport, phase, attempt)});
        // The likeliest first: a flow budget cut or a later wave hits external routes; IPv6
        // before IPv4 on the same route.
        std::stable_sort(here.begin(), here.end(), [](auto& x, auto& y) {
            return std::pair(x.attempt.route, x.attempt.family == IP4) < std::pair(y.attempt.route, y.attempt.family == IP4);
        });
        bool live_v6 = std::any_of(here.begin(), here.end(), [](auto& p) { return !p.skipped() && p.attempt.family == IP6; });
        std::size_t live = 0;
        for (auto& p : here) {
            if (p.skipped()) continue;
            if (flows == limits.max_flows) {
                p.skip_reason = fmt::format("over the flow budget of {} attempts", limits.max_flows);
                continue;
            }
            ++flows;
            p.delay = phase_start + static_cast<int>(live / wave_size) * limits.stagger;
            if (live_v6 && p.attempt.family == IP4) p.delay += limits.ipv6_head_start;
            ++live;
        }
        // A phase with nothing left to try does not hold the next one back.
        auto waves = (live + wave_size - 1) / wave_size;
        phase_start += static_cast<int>(waves) * limits.stagger;
        plan.insert(plan.end(), here.begin(), here.end());
    }
    std::stable_sort(plan.begin(), plan.end(), [](auto& x, auto& y) { return x.delay < y.delay; });
    return plan;
}

}  // namespace warpgate::traversal
