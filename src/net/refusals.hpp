// Counting and logging what a node refuses (strangers' connections, bad records, forged
// requests): every refusal is counted by reason, and logged at info level at most once per
// reason per interval, with how many were suppressed meanwhile, so an operator sees an attack
// without a flood of lines.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace warpgate::net {

class Refusals {
public:
    using Clock = std::chrono::steady_clock;
    explicit Refusals(std::string scope, std::chrono::milliseconds interval = std::chrono::seconds(10))
        : scope_(std::move(scope)), interval_(interval) {}

    // `reason` is a short stable key ("plaintext hello"); `detail` says who and why.
    void refuse(std::string_view reason, std::string_view detail);
    std::uint64_t count(std::string_view reason) const;
    std::uint64_t total() const { return total_; }
    // reason -> count, for stats output (listen --json, SIGUSR1)
    std::map<std::string, std::uint64_t> counts() const;

private:
    struct Entry {
        std::uint64_t count = 0;
        std::uint64_t suppressed = 0;
        Clock::time_point last_logged{};
    };
    std::string scope_;
    std::chrono::milliseconds interval_;
    std::map<std::string, Entry, std::less<>> entries_;
    std::uint64_t total_ = 0;
};

}  // namespace warpgate::net
