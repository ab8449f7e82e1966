// The race plan: when each traversal attempt starts, and which ones are not worth starting,
// decided from the two nodes' addresses and NAT facts alone (no I/O). auto_connect runs it.
//
// Happy Eyeballs (RFC 8305) applied to traversal phases: the direct phase starts at once and
// each later phase one stagger after the previous phase that has something to try, so a
// phase the NAT facts rule out costs no time. The rules:
//  - a direct dial to the peer's external address needs the peer's NAT to let it in: a
//    filtering NAT (restricted, port restricted, symmetric, a symmetric UDP firewall) only
//    does for a mapping that exists, so such dials are skipped; a peer whose STUN got no reply
//    (blocked) drops UDP from outside;
//  - a connect-back (a direct-phase attempt whose target is our own external address: the
//    peer dials us) needs us to be reachable by the same rules;
//  - a punch (or spray) cannot meet when one side's symmetric NAT picks random ports and the
//    other side's NAT filters by port (port restricted or symmetric): no port to predict;
//    with UDP blocked on either side, no UDP punch can work;
//  - unknown NAT facts rule nothing out;
//  - at most max_flows attempts in all (router flow caps, ~256 in the original), and at most
//    max_half_open started together (SYN limits): later ones wait a stagger per wave;
//  - the relay phase starts by half the relay budget (relay_after) at the latest, whatever
//    the earlier phases' staggers add up to;
//  - within a phase, IPv6 attempts go first and the phase's IPv4 attempts wait a head start
//    (RFC 8305 section 5, the Connection Attempt Delay) when an IPv6 one is live: a dual-stack
//    pair takes IPv6 where it links (no NAT state on the path), IPv4 where it does not.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>
#include <warpgate/address.hpp>
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

struct RaceLimits {
    std::chrono::milliseconds stagger{200};  // between phases, and between waves of one phase
    std::size_t max_half_open = 32;          // attempts started together
    std::size_t max_flows = 256;             // attempts in all
    std::chrono::milliseconds ipv6_head_start{250};  // RFC 8305's recommended attempt delay
    // The relay budget: the relay phase starts no later than half of it (its allocation is
    // then usually ready when it ends); auto_connect takes a relayed link only once it ended
    // or nothing else is left trying.
    std::chrono::milliseconds relay_after{1000};
};

// What one plugin proposed.
struct Proposal {
    std::string plugin;
    Phase phase = Phase::direct;
    std::vector<Attempt> attempts;
};

struct PlannedAttempt {
    Attempt attempt;
    Phase phase = Phase::direct;
    std::chrono::milliseconds delay{0};  // from the start of the race
    std::string skip_reason;             // not empty: do not start it, because...
    bool skipped() const { return !skip_reason.empty(); }
};

// Every proposed attempt once, in start order (by delay, then phase, then as proposed);
// skipped ones keep their place in their phase.
std::vector<PlannedAttempt> plan_race(const NodeAddress& ours, const NodeAddress& peer, Transport transport,
                                      const std::vector<Proposal>& proposals, const RaceLimits& limits);

}  // namespace warpgate::traversal
