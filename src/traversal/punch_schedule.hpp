// When two peers start a punch: an instant on the corrected wall clock (ClockReading) that the
// initiator picks and sends over signaling. It must lie after the responder received it, on
// both clocks, so it is now + the measured signaling round trip (the "go" message takes about
// half of it; the whole covers a relay that is slower one way) + both clocks' uncertainties
// (the responder's clock may run ahead by their sum) + a margin for the work between message
// and connect(). Not a fixed 1 to 3 s as in the original: on a LAN or in the NAT lab the
// round trip is a few milliseconds and so is the lead.
//
// A clock known only within more than the budget aborts the punch before anything is sent:
// firing blind trips NAT filters (the SYNs miss each other) and port-scan heuristics.
#pragma once
#include <chrono>
#include <string>
#include <warpgate/clock.hpp>
#include <warpgate/error.hpp>

namespace warpgate::traversal {

struct ScheduleBudget {
    // The largest sum of both clocks' uncertainties a punch accepts.
    std::chrono::milliseconds max_uncertainty{250};
    // What a clock without an NTP measurement counts as (peers on one machine or one LAN that
    // run without NTP, as the test preset does, agree to within scheduling noise).
    std::chrono::milliseconds unsynced_uncertainty{10};
    // Processing between receiving the instant and firing.
    std::chrono::milliseconds margin{10};
    // The lead never exceeds this (a pathological round trip is not waited out).
    std::chrono::milliseconds max_lead{3000};
    // How long each side keeps trying after the instant, beyond the clocks' disagreement.
    std::chrono::milliseconds window{1500};
};

// One side's clock as it describes itself in the offer or the answer.
struct PeerClock {
    std::chrono::nanoseconds uncertainty{0};
    bool synced = false;
};

struct PunchSchedule {
    std::chrono::system_clock::time_point start;  // corrected wall time
    std::chrono::nanoseconds lead{0};             // start - now when it was picked
    std::chrono::nanoseconds window{0};           // try until start + window
    std::chrono::nanoseconds uncertainty{0};      // both clocks' together, as counted
    std::string describe() const;                 // "in 23.1 ms (clocks ±11.0 ms), for 1.52 s"
};

// The uncertainty a clock counts as under `budget` (its own when synced).
std::chrono::nanoseconds counted_uncertainty(const PeerClock& clock, const ScheduleBudget& budget);

// The start instant from our clock, the peer's and the measured signaling round trip.
// Errc::refused, saying whose clock and by how much, when the uncertainties exceed the budget;
// Errc::timeout when the round trip alone exceeds max_lead.
Result<PunchSchedule> schedule_punch(const ClockReading& ours, const PeerClock& peer, std::chrono::nanoseconds signal_rtt,
                                     const ScheduleBudget& budget = {});

// How long to wait from `now` until `start` (zero once it passed: a late side fires at once).
std::chrono::nanoseconds time_until(std::chrono::system_clock::time_point start, const ClockReading& now);

}  // namespace warpgate::traversal
