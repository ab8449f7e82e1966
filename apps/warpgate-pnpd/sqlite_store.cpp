// The default store: one SQLite file in WAL mode with synchronous=FULL, so a registration is
// on disk before its reply leaves (nothing acknowledged is lost to kill -9 or power loss).
// One connection, used from the server's one thread; BEGIN IMMEDIATE takes the write lock
// up front, so a second process on the same file waits (busy_timeout) instead of failing.
#include <fmt/format.h>
#include <sqlite3.h>

#include "name_store.hpp"

namespace warpgate::pnpd {
namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    owner BLOB NOT NULL,
    value BLOB NOT NULL,
    source TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS names_by_source ON names (source, created_ms);
CREATE INDEX IF NOT EXISTS names_by_expiry ON names (expires_ms);
)sql";

struct StatementDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// Resets a statement when a query is done with it, whichever way it leaves.
class Bound {
public:
    explicit Bound(sqlite3_stmt* s) : s_(s) {}
    ~Bound() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Bound(const Bound&) = delete;
    Bound& operator=(const Bound&) = delete;
    Bound& text(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Bound& blob(int i, ByteView v) {
        sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Bound& integer(int i, std::uint64_t v) {
        sqlite3_bind_int64(s_, i, static_cast<sqlite3_int64>(v));
        return *this;
    }
    int step() { return sqlite3_step(s_); }
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_;
};

Bytes column_blob(sqlite3_stmt* s, int i) {
    auto data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, i));
    return data ? Bytes(data, data + sqlite3_column_bytes(s, i)) : Bytes{};
}

std::string column_text(sqlite3_stmt* s, int i) {
    auto data = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string{};
}

class SqliteStore final : public NameStore {
public:
    explicit SqliteStore(std::string path) : path_(std::move(path)) {}
    ~SqliteStore() override {
        statements_.clear();
        if (db_) sqlite3_close(db_);
    }

    Result<void> open() {
        if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
            return failure("open");
        sqlite3_busy_timeout(db_, 5000);
        for (auto sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", schema})
            if (auto r = exec(sql); !r) return r;
        const char* sql[] = {
            "SELECT owner, value, source, created_ms, updated_ms, expires_ms FROM names WHERE name = ?1",
            "INSERT INTO names (name, owner, value, source, created_ms, updated_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
            "ON CONFLICT (name) DO UPDATE SET owner = ?2, value = ?3, source = ?4, created_ms = ?5, updated_ms = ?6, expires_ms = ?7",
            "DELETE FROM names WHERE name = ?1",
            "SELECT count(*) FROM names WHERE source = ?1 AND expires_ms > ?2 AND length(value) > 0",
            "SELECT name FROM names WHERE source = ?1 AND expires_ms > ?2 AND length(value) > 0 ORDER BY created_ms, name LIMIT 1",
            "SELECT count(*) FROM names WHERE expires_ms > ?1 AND length(value) > 0",
            "DELETE FROM names WHERE expires_ms <= ?1",
        };
        for (auto text : sql) {
            sqlite3_stmt* s = nullptr;
            if (sqlite3_prepare_v3(db_, text, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) return failure("prepare");
            statements_.emplace_back(s);
        }
        return {};
    }

    Result<void> begin() override { return exec("BEGIN IMMEDIATE"); }
    Result<void> commit() override { return exec("COMMIT"); }
    void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

    Result<std::optional<NameRecord>> find(std::string_view name) override {
        Bound q(statements_[find_sql].get());
        q.text(1, name);
        auto rc = q.step();
        if (rc == SQLITE_DONE) return std::optional<NameRecord>();
        if (rc != SQLITE_ROW) return failure("find");
        NameRecord r{std::string(name), column_blob(q.get(), 0), column_blob(q.get(), 1), column_text(q.get(), 2),
                     static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 3)),
                     static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 4)),
                     static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 5))};
        return std::optional<NameRecord>(std::move(r));
    }

    Result<void> upsert(const NameRecord& r) override {
        Bound q(statements_[upsert_sql].get());
        q.text(1, r.name).blob(2, r.owner).blob(3, r.value).text(4, r.source).integer(5, r.created_ms).integer(6, r.updated_ms).integer(7, r.expires_ms);
        return q.step() == SQLITE_DONE ? Result<void>() : failure("upsert");
    }

    Result<void> erase(std::string_view name) override {
        Bound q(statements_[erase_sql].get());
        q.text(1, name);
        return q.step() == SQLITE_DONE ? Result<void>() : failure("erase");
    }

    Result<std::size_t> count_by_source(std::string_view source, std::uint64_t now_ms) override {
        Bound q(statements_[count_source_sql].get());
        q.text(1, source).integer(2, now_ms);
        return count(q, "count by source");
    }

    Result<std::optional<std::string>> oldest_by_source(std::string_view source, std::uint64_t now_ms) override {
        Bound q(statements_[oldest_sql].get());
        q.text(1, source).integer(2, now_ms);
        auto rc = q.step();
        if (rc == SQLITE_DONE) return std::optional<std::string>();
        if (rc != SQLITE_ROW) return failure("oldest by source");
        return std::optional<std::string>(column_text(q.get(), 0));
    }

    Result<std::size_t> count_live(std::uint64_t now_ms) override {
        Bound q(statements_[count_live_sql].get());
        q.integer(1, now_ms);
        return count(q, "count");
    }

    Result<std::size_t> purge_expired(std::uint64_t now_ms) override {
        Bound q(statements_[purge_sql].get());
        q.integer(1, now_ms);
        if (q.step() != SQLITE_DONE) return failure("purge");
        return static_cast<std::size_t>(sqlite3_changes(db_));
    }

    std::string describe() const override { return "sqlite " + path_ + " (WAL, synchronous=FULL)"; }

private:
    enum { find_sql, upsert_sql, erase_sql, count_source_sql, oldest_sql, count_live_sql, purge_sql };

    Result<void> exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return {};
        std::string text = message ? message : sqlite3_errmsg(db_);
        sqlite3_free(message);
        return fail(Errc::io, fmt::format("sqlite {}: {}", path_, text));
    }
    Result<std::size_t> count(Bound& q, std::string_view what) {
        if (q.step() != SQLITE_ROW) return failure(what);
        return static_cast<std::size_t>(sqlite3_column_int64(q.get(), 0));
    }
    tl::unexpected<Error> failure(std::string_view what) const {
        return fail(Errc::io, fmt::format("sqlite {}: {}: {}", path_, what, db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }

    std::string path_;
    sqlite3* db_ = nullptr;
    std::vector<Statement> statements_;
};

}  // namespace

Result<std::unique_ptr<NameStore>> open_sqlite_store(const std::string& path) {
    auto store = std::make_unique<SqliteStore>(path);
    if (auto r = store->open(); !r) return tl::unexpected(r.error());
    return std::unique_ptr<NameStore>(std::move(store));
}

Result<std::unique_ptr<NameStore>> open_store(std::string_view spec) {
    if (spec.starts_with("sqlite:")) return open_sqlite_store(std::string(spec.substr(7)));
    if (spec.starts_with("postgresql:")) return open_postgres_store(std::string(spec.substr(11)));
    return fail(Errc::config, fmt::format("store '{}' is neither sqlite:PATH nor postgresql:CONNINFO", spec));
}

}  // namespace warpgate::pnpd
