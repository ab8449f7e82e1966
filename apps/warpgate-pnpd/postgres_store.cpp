// The shared store: PostgreSQL through libpq, for several warpgate-pnpd instances serving one
// namespace. Every rule's transaction takes one transaction-level advisory lock first, so the
// instances apply rules one at a time (a quota check and its insert cannot interleave with
// another instance's); lookups read without it. COMMIT returns once the WAL is flushed
// (PostgreSQL's default synchronous_commit=on).
#include <fmt/format.h>
#include <libpq-fe.h>

#include "name_store.hpp"

namespace warpgate::pnpd {
namespace {

constexpr const char* lock_key = "1347440720";  // "PNP" as a number: the one advisory lock of this schema

constexpr const char* schema = R"sql(
SELECT pg_advisory_lock(1347440720);
CREATE TABLE IF NOT EXISTS pnp_names (
    name TEXT PRIMARY KEY,
    owner BYTEA NOT NULL,
    value BYTEA NOT NULL,
    source TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS pnp_names_by_source ON pnp_names (source, created_ms);
CREATE INDEX IF NOT EXISTS pnp_names_by_expiry ON pnp_names (expires_ms);
SELECT pg_advisory_unlock(1347440720);
)sql";

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// One query parameter: text, or binary for BYTEA.
struct Param {
    std::string text;
    ByteView binary;
    bool is_binary = false;
    static Param of(std::string_view v) { return {std::string(v), {}, false}; }
    static Param of(std::uint64_t v) { return {std::to_string(v), {}, false}; }
    static Param bytes(ByteView v) { return {{}, v, true}; }
};

class PostgresStore final : public NameStore {
public:
    explicit PostgresStore(std::string conninfo) : conninfo_(std::move(conninfo)) {}
    ~PostgresStore() override {
        if (conn_) PQfinish(conn_);
    }

    Result<void> open() {
        conn_ = PQconnectdb(conninfo_.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) return failure("connect", nullptr);
        PgResult r(PQexec(conn_, schema));
        if (PQresultStatus(r.get()) != PGRES_TUPLES_OK && PQresultStatus(r.get()) != PGRES_COMMAND_OK) return failure("schema", r.get());
        return {};
    }

    Result<void> begin() override {
        if (PQstatus(conn_) == CONNECTION_BAD) PQreset(conn_);  // the server restarted: one fresh attempt
        if (auto r = command("BEGIN", {}); !r) return r;
        return query(fmt::format("SELECT pg_advisory_xact_lock({})", lock_key), {}).map([](PgResult) {});
    }
    Result<void> commit() override { return command("COMMIT", {}); }
    void rollback() noexcept override { PgResult(PQexec(conn_, "ROLLBACK")); }

    Result<std::optional<NameRecord>> find(std::string_view name) override {
        auto r = query("SELECT owner, value, source, created_ms, updated_ms, expires_ms FROM pnp_names WHERE name = $1", {Param::of(name)});
        if (!r) return tl::unexpected(r.error());
        if (PQntuples(r->get()) == 0) return std::optional<NameRecord>();
        auto* res = r->get();
        NameRecord rec{std::string(name), bytea(res, 0), bytea(res, 1), PQgetvalue(res, 0, 2), number(res, 3), number(res, 4), number(res, 5)};
        return std::optional<NameRecord>(std::move(rec));
    }

    Result<void> upsert(const NameRecord& r) override {
        return command("INSERT INTO pnp_names (name, owner, value, source, created_ms, updated_ms, expires_ms) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET owner = $2, value = $3, "
                       "source = $4, created_ms = $5, updated_ms = $6, expires_ms = $7",
                       {Param::of(r.name), Param::bytes(r.owner), Param::bytes(r.value), Param::of(r.source), Param::of(r.created_ms),
                        Param::of(r.updated_ms), Param::of(r.expires_ms)});
    }

    Result<void> erase(std::string_view name) override { return command("DELETE FROM pnp_names WHERE name = $1", {Param::of(name)}); }

    Result<std::size_t> count_by_source(std::string_view source, std::uint64_t now_ms) override {
        return count("SELECT count(*) FROM pnp_names WHERE source = $1 AND expires_ms > $2 AND length(value) > 0", {Param::of(source), Param::of(now_ms)});
    }

    Result<std::optional<std::string>> oldest_by_source(std::string_view source, std::uint64_t now_ms) override {
        auto r = query("SELECT name FROM pnp_names WHERE source = $1 AND expires_ms > $2 AND length(value) > 0 ORDER BY created_ms, name LIMIT 1",
                       {Param::of(source), Param::of(now_ms)});
        if (!r) return tl::unexpected(r.error());
        if (PQntuples(r->get()) == 0) return std::optional<std::string>();
        return std::optional<std::string>(PQgetvalue(r->get(), 0, 0));
    }

    Result<std::size_t> count_live(std::uint64_t now_ms) override {
        return count("SELECT count(*) FROM pnp_names WHERE expires_ms > $1 AND length(value) > 0", {Param::of(now_ms)});
    }

    Result<std::size_t> purge_expired(std::uint64_t now_ms) override {
        auto r = run("DELETE FROM pnp_names WHERE expires_ms <= $1", {Param::of(now_ms)}, PGRES_COMMAND_OK);
        if (!r) return tl::unexpected(r.error());
        return static_cast<std::size_t>(std::stoull(PQcmdTuples(r->get())));
    }

    std::string describe() const override {
        return fmt::format("postgresql database {} on {}:{}", PQdb(conn_), PQhost(conn_), PQport(conn_));
    }

private:
    Result<PgResult> run(const std::string& sql, const std::vector<Param>& params, ExecStatusType expected) {
        std::vector<const char*> values;
        std::vector<int> lengths, formats;
        for (auto& p : params) {
            values.push_back(p.is_binary ? reinterpret_cast<const char*>(p.binary.data()) : p.text.c_str());
            lengths.push_back(p.is_binary ? static_cast<int>(p.binary.size()) : 0);
            formats.push_back(p.is_binary ? 1 : 0);
        }
        PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                                formats.data(), 0));
        if (PQresultStatus(r.get()) != expected) return failure(sql.substr(0, sql.find(' ')), r.get());
        return r;
    }
    Result<PgResult> query(const std::string& sql, const std::vector<Param>& params) { return run(sql, params, PGRES_TUPLES_OK); }
    Result<void> command(const std::string& sql, const std::vector<Param>& params) {
        return run(sql, params, PGRES_COMMAND_OK).map([](PgResult) {});
    }
    Result<std::size_t> count(const std::string& sql, const std::vector<Param>& params) {
        auto r = query(sql, params);
        if (!r) return tl::unexpected(r.error());
        return static_cast<std::size_t>(number(r->get(), 0));
    }
    static std::uint64_t number(PGresult* r, int column) { return std::stoull(PQgetvalue(r, 0, column)); }
    static Bytes bytea(PGresult* r, int column) {
        std::size_t size = 0;
        auto* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, 0, column)), &size);
        Bytes out(raw, raw + size);
        PQfreemem(raw);
        return out;
    }
    tl::unexpected<Error> failure(std::string_view what, PGresult* r) const {
        std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
        while (!message.empty() && message.back() == '\n') message.pop_back();
        return fail(Errc::io, fmt::format("postgresql {}: {}", what, message));
    }

    std::string conninfo_;
    PGconn* conn_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<NameStore>> open_postgres_store(const std::string& conninfo) {
    auto store = std::make_unique<PostgresStore>(conninfo);
    if (auto r = store->open(); !r) return tl::unexpected(r.error());
    return std::unique_ptr<NameStore>(std::move(store));
}

}  // namespace warpgate::pnpd
