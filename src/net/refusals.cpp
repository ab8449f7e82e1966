#include "net/refusals.hpp"

#include <spdlog/spdlog.h>

namespace warpgate::net {

void Refusals::refuse(std::string_view reason, std::string_view detail) {
    ++total_;
    auto it = entries_.find(reason);
    if (it == entries_.end()) it = entries_.emplace(std::string(reason), Entry{}).first;
    auto& entry = it->second;
    ++entry.count;
    auto now = Clock::now();
    if (entry.last_logged != Clock::time_point{} && now - entry.last_logged < interval_) {
        ++entry.suppressed;
        return;
    }
    if (entry.suppressed > 0)
        spdlog::info("{}: refused ({}): {} ({} more like it since the last report, {} in all)", scope_, reason, detail,
                     entry.suppressed, entry.count);
    else
        spdlog::info("{}: refused ({}): {}", scope_, reason, detail);
    entry.suppressed = 0;
    entry.last_logged = now;
}

std::uint64_t Refusals::count(std::string_view reason) const {
    auto it = entries_.find(reason);
    return it == entries_.end() ? 0 : it->second.count;
}

std::map<std::string, std::uint64_t> Refusals::counts() const {
    std::map<std::string, std::uint64_t> out;
    for (auto& [reason, entry] : entries_) out[reason] = entry.count;
    return out;
}

}  // namespace warpgate::net
