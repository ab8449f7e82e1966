#include "traversal/punch_schedule.hpp"

#include <fmt/format.h>

namespace warpgate::traversal {
namespace {

double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

std::string PunchSchedule::describe() const {
    return fmt::format("in {:.1f} ms (clocks ±{:.1f} ms), for {:.2f} s", ms(lead), ms(uncertainty), ms(window) / 1000);
}

std::chrono::nanoseconds counted_uncertainty(const PeerClock& clock, const ScheduleBudget& budget) {
    return clock.synced ? clock.uncertainty : std::chrono::nanoseconds(budget.unsynced_uncertainty);
}

Result<PunchSchedule> schedule_punch(const ClockReading& ours, const PeerClock& peer, std::chrono::nanoseconds signal_rtt,
                                     const ScheduleBudget& budget) {
    auto own = counted_uncertainty({ours.uncertainty, ours.synced}, budget);
    auto theirs = counted_uncertainty(peer, budget);
    auto total = own + theirs;
    if (total > budget.max_uncertainty)
        return tl::unexpected(Error{Errc::refused, fmt::format("clock uncertainty ±{:.1f} ms (ours ±{:.1f} ms{}, the peer's ±{:.1f} ms{}) "
                                                               "exceeds the punch budget ±{:.1f} ms: not punching blind",
                                                               ms(total), ms(own), ours.synced ? "" : " unsynced", ms(theirs),
                                                               peer.synced ? "" : " unsynced", ms(budget.max_uncertainty))});
    if (signal_rtt < std::chrono::nanoseconds::zero()) signal_rtt = {};
    auto lead = signal_rtt + total + std::chrono::nanoseconds(budget.margin);
    if (lead > budget.max_lead)
        return tl::unexpected(Error{Errc::timeout, fmt::format("the signaling round trip of {:.1f} ms leaves no start within {:.1f} ms",
                                                               ms(signal_rtt), ms(budget.max_lead))});
    PunchSchedule s;
    s.lead = lead;
    s.start = ours.now + std::chrono::duration_cast<std::chrono::system_clock::duration>(lead);
    // Either side may fire up to `total` late as the other sees it.
    s.window = std::chrono::nanoseconds(budget.window) + 2 * total;
    s.uncertainty = total;
    return s;
}

std::chrono::nanoseconds time_until(std::chrono::system_clock::time_point start, const ClockReading& now) {
    auto left = start - now.now;
    return left > std::chrono::system_clock::duration::zero() ? std::chrono::duration_cast<std::chrono::nanoseconds>(left)
                                                              : std::chrono::nanoseconds::zero();
}

}  // namespace warpgate::traversal
