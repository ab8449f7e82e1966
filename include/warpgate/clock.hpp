// The node's clock as applications and plugins see it.
#pragma once
#include <chrono>
#include <string>

namespace warpgate {

// The node's wall clock (start phase initialize_system_clock): the system clock corrected by
// the NTP offset measured against ntp_servers; true time lies within now ± uncertainty.
struct ClockReading {
    std::chrono::system_clock::time_point now;  // corrected (the local clock when not synced)
    std::chrono::nanoseconds offset{0};         // what was added to the local clock
    std::chrono::nanoseconds uncertainty{0};    // grows with the measurement's age; 0 when not synced
    bool synced = false;                        // an NTP measurement exists
    std::string summary;                        // "offset +1.234 ms ± 0.056 ms from 3 of 3 servers", or why not synced
};

}  // namespace warpgate
