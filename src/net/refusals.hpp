// Refusal counters with a log that an operator can read under attack: every refusal is counted
// by reason, and logged at info level at most once per reason per interval. The first line of
// an interval says how many refusals of that reason went unlogged since the previous line, so
// a flood costs one line per interval instead of one per packet. Counters are kept forever
// (the node's lifetime) for `listen --json` and tests. Not thread-safe: one executor owns it.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace warpgate::net {

class RefusalLog {
public:
    using Clock = std::chrono::steady_clock;

    // `component` prefixes each line ("reverse_connect", "tcp listener").
    explicit RefusalLog(std::string component, std::chrono::milliseconds interval = std::chrono::seconds(10),
                        std::function<Clock::time_point()> clock = [] { return Clock::now(); });

    // Counts a refusal of `reason` (a short stable name such as "loopback_target", used as the
    // counter's key) and logs "<component>: refused (<reason>): <detail>" unless this reason
    // was logged less than an interval ago. True when a line was logged.
    bool refuse(std::string_view reason, std::string_view detail);

    std::uint64_t count(std::string_view reason) const;
    std::uint64_t total() const;
    // Every reason seen so far and its count.
    std::map<std::string, std::uint64_t, std::less<>> counts() const;

private:
    struct Reason {
        std::uint64_t count = 0;
        std::uint64_t unlogged = 0;  // since the last line
        Clock::time_point last_logged{};
        bool logged_once = false;
    };
    std::string component_;
    std::chrono::milliseconds interval_;
    std::function<Clock::time_point()> clock_;
    std::map<std::string, Reason, std::less<>> reasons_;
};

}  // namespace warpgate::net
