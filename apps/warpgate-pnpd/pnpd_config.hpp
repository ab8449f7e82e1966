// warpgate-pnpd's configuration: a JSON file (docs/pnp.md lists every key). Unknown keys and
// wrongly typed values are errors. Relative paths are relative to the file's directory.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>

#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

#include "crypto/identity.hpp"
#include "net/rate_limit.hpp"
#include "registry.hpp"

namespace warpgate::pnpd {

struct PnpdConfig {
    HostPort listen{"127.0.0.1", 5300};  // UDP and TCP, the same port
    std::filesystem::path key_file = "pnpd.key";  // hex private scalar; created (0600) when absent
    std::string store = "sqlite:pnpd.db";         // or "postgresql:CONNINFO"
    RegistryLimits limits;
    net::RateLimit per_source{20, std::chrono::milliseconds(1000)};  // requests per source address
    net::RateLimit total{5000, std::chrono::milliseconds(1000)};     // requests for the whole server
    std::chrono::milliseconds tcp_idle_timeout{10000};
    std::size_t max_tcp_connections = 256;
    std::size_t replay_cache_size = 65536;  // replies kept for retransmitted requests
    std::chrono::milliseconds purge_interval{60000};
    std::string log_level = "info";

    static Result<PnpdConfig> load(const std::filesystem::path& file);
};

// The server's identity: read from `file`, or generated and written there (mode 0600).
Result<crypto::IdentityKey> load_or_create_key(const std::filesystem::path& file);

}  // namespace warpgate::pnpd
