// NAT reports per local address (one interface x family), reused until they expire: NAT
// behaviour changes rarely, and the discovery costs seconds when the NAT filters.
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include "nat/nat_discovery.hpp"

namespace warpgate::nat {

class NatCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit NatCache(Clock::duration ttl = std::chrono::minutes(10)) : ttl_(ttl) {}

    // The report for this address if one was stored less than ttl ago.
    std::optional<NatReport> find(const asio::ip::address& local_ip, Clock::time_point now = Clock::now()) const;
    void store(NatReport report, Clock::time_point now = Clock::now());
    void forget(const asio::ip::address& local_ip) { entries_.erase(local_ip); }

private:
    struct Entry {
        NatReport report;
        Clock::time_point stored;
    };
    Clock::duration ttl_;
    std::map<asio::ip::address, Entry> entries_;
};

// The cached report when fresh; otherwise discover_nat() and remember its report (errors are
// not remembered).
asio::awaitable<Result<NatReport>> discover_nat_cached(NatCache& cache, asio::any_io_executor executor, asio::ip::address local_ip,
                                                       std::vector<HostPort> servers, DiscoveryOptions options = {});

}  // namespace warpgate::nat
