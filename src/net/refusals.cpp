#include "net/refusals.hpp"

#include "log.hpp"

namespace warpgate::net {

RefusalLog::RefusalLog(std::string component, std::chrono::milliseconds interval, std::function<Clock::time_point()> clock)
    : component_(std::move(component)), interval_(interval), clock_(std::move(clock)) {}

bool RefusalLog::refuse(std::string_view reason, std::string_view detail) {
    auto it = reasons_.find(reason);
    if (it == reasons_.end()) it = reasons_.emplace(std::string(reason), Reason{}).first;
    auto& r = it->second;
    ++r.count;
    auto now = clock_();
    if (r.logged_once && now - r.last_logged < interval_) {
        ++r.unlogged;
        return false;
    }
    if (r.unlogged > 0)
        log::info("{}: refused ({}): {} ({} more since the last such line, {} in all)", component_, reason, detail, r.unlogged, r.count);
    else
        log::info("{}: refused ({}): {}", component_, reason, detail);
    r.unlogged = 0;
    r.last_logged = now;
    r.logged_once = true;
    return true;
}

std::uint64_t RefusalLog::count(std::string_view reason) const {
    auto it = reasons_.find(reason);
    return it == reasons_.end() ? 0 : it->second.count;
}

std::uint64_t RefusalLog::total() const {
    std::uint64_t sum = 0;
    for (auto& [name, r] : reasons_) sum += r.count;
    return sum;
}

std::map<std::string, std::uint64_t, std::less<>> RefusalLog::counts() const {
    std::map<std::string, std::uint64_t, std::less<>> out;
    for (auto& [name, r] : reasons_) out.emplace(name, r.count);
    return out;
}

}  // namespace warpgate::net
