#include "nat/nat_cache.hpp"

namespace warpgate::nat {

std::optional<NatReport> NatCache::find(const asio::ip::address& local_ip, Clock::time_point now) const {
    auto it = entries_.find(local_ip);
    if (it == entries_.end() || now - it->second.stored >= ttl_) return std::nullopt;
    return it->second.report;
}

void NatCache::store(NatReport report, Clock::time_point now) {
    auto ip = report.local_ip;
    entries_.insert_or_assign(ip, Entry{std::move(report), now});
}

asio::awaitable<Result<NatReport>> discover_nat_cached(NatCache& cache, asio::any_io_executor executor, asio::ip::address local_ip,
                                                       std::vector<HostPort> servers, DiscoveryOptions options) {
    if (auto cached = cache.find(local_ip)) co_return *cached;
    auto report = co_await discover_nat(executor, local_ip, std::move(servers), options);
    if (report) cache.store(*report);
    co_return report;
}

}  // namespace warpgate::nat
