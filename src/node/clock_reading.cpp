// Node::clock_reading(): the public view of the node's Clock (node/clock.hpp).
#include <warpgate/node.hpp>

#include "node/node_impl.hpp"

namespace warpgate {

ClockReading Node::clock_reading() const {
    auto& clock = impl_->clock;
    ClockReading r;
    r.now = std::chrono::time_point_cast<std::chrono::system_clock::duration>(clock.now());
    r.offset = clock.offset();
    r.synced = clock.measurement().has_value();
    r.uncertainty = clock.uncertainty().value_or(std::chrono::nanoseconds::zero());
    if (r.synced) r.summary = clock.measurement()->describe();
    else r.summary = clock.last_error().empty() ? "not synced" : "not synced: " + clock.last_error();
    return r;
}

}  // namespace warpgate
