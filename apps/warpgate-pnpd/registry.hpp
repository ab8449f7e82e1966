// The name rules of warpgate-pnpd, over any NameStore (issue 18):
//  - a name maps to a value owned by the key that first registered it; only that key updates
//    or deletes it, and each change must be newer (timestamp) than the last;
//  - a request is accepted from its timestamp (less the allowed clock skew) until timestamp
//    + lifetime, else it is stale;
//  - names expire name_ttl after their last registration unless refreshed;
//  - a source address holds at most names_per_source live names: with bump, a new one evicts
//    that address's oldest (the original's "bump"), without it the request fails with quota;
//  - the server holds at most max_names live names.
#pragma once
#include <cstdint>
#include <string_view>

#include "name_store.hpp"
#include "proto/pnp.hpp"

namespace warpgate::pnpd {

struct RegistryLimits {
    std::uint64_t name_ttl_ms = 3ull * 24 * 3600 * 1000;
    std::size_t names_per_source = 10;
    bool bump = true;
    std::size_t max_names = 1'000'000;
    std::uint64_t clock_skew_ms = 30'000;  // how far in the future a timestamp may be
};

class Registry {
public:
    Registry(NameStore& store, RegistryLimits limits) : store_(store), limits_(limits) {}
    // One verified request from `source` at `now_ms`: the reply to send (id included).
    pnp::Reply apply(const pnp::Request& request, std::string_view source, std::uint64_t now_ms);
    NameStore& store() { return store_; }

private:
    Result<pnp::Reply> register_name(const pnp::Request& q, std::string_view source, std::uint64_t now_ms);
    Result<pnp::Reply> lookup(const pnp::Request& q, std::uint64_t now_ms);
    Result<pnp::Reply> remove(const pnp::Request& q, std::uint64_t now_ms);

    NameStore& store_;
    RegistryLimits limits_;
};

}  // namespace warpgate::pnpd
