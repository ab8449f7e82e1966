// Where warpgate-pnpd keeps names: an interface with one SQL implementation per database.
// The rules (ownership, quotas, bump, expiry) live in Registry, above it; a store only keeps
// records and makes a rule's reads and writes one transaction, isolated from every other
// server instance on the same database.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::pnpd {

struct NameRecord {
    std::string name;
    Bytes owner;                     // 33-byte compressed public key
    Bytes value;                     // empty: a tombstone (deleted; kept so older requests stay stale)
    std::string source;              // the IP address that registered it (quota and bump)
    std::uint64_t created_ms = 0;    // first registration (bump evicts the oldest)
    std::uint64_t updated_ms = 0;    // timestamp of the last accepted request (later ones must be newer)
    std::uint64_t expires_ms = 0;
};

class NameStore {
public:
    virtual ~NameStore() = default;
    // A write transaction: begin() waits for every other writer (other instances included);
    // commit() returns only once the change is durable.
    virtual Result<void> begin() = 0;
    virtual Result<void> commit() = 0;
    virtual void rollback() noexcept = 0;

    // Any record, expired or not (the caller compares expires_ms).
    virtual Result<std::optional<NameRecord>> find(std::string_view name) = 0;
    virtual Result<void> upsert(const NameRecord& record) = 0;
    virtual Result<void> erase(std::string_view name) = 0;
    // Names (not tombstones) registered from `source` and live at now_ms; the oldest of them by created_ms.
    virtual Result<std::size_t> count_by_source(std::string_view source, std::uint64_t now_ms) = 0;
    virtual Result<std::optional<std::string>> oldest_by_source(std::string_view source, std::uint64_t now_ms) = 0;
    virtual Result<std::size_t> count_live(std::uint64_t now_ms) = 0;  // names, not tombstones
    // Deletes expired records; how many.
    virtual Result<std::size_t> purge_expired(std::uint64_t now_ms) = 0;
    virtual std::string describe() const = 0;  // "sqlite /var/lib/..." for the start log
};

// "sqlite:PATH" (WAL, synchronous=FULL) or "postgresql:CONNINFO" (libpq keyword=value or URI).
Result<std::unique_ptr<NameStore>> open_store(std::string_view spec);
Result<std::unique_ptr<NameStore>> open_sqlite_store(const std::string& path);
Result<std::unique_ptr<NameStore>> open_postgres_store(const std::string& conninfo);

}  // namespace warpgate::pnpd
