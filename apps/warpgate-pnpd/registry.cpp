#include "registry.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace warpgate::pnpd {
namespace {

using pnp::Reply;
using pnp::Status;

Reply refusal(Status status, std::string detail) {
    Reply r;
    r.status = status;
    r.detail = std::move(detail);
    return r;
}

// Only the owner changes a name, and only with a request newer than the last change (an old
// request replayed after the replay cache forgot it is stale).
std::optional<Reply> check_owner(const pnp::Request& q, const NameRecord& record) {
    if (record.owner != q.owner) {
        auto r = refusal(Status::owned_by_other_key, fmt::format("'{}' is owned by another key", q.name));
        r.owner = record.owner;
        return r;
    }
    if (q.timestamp_ms <= record.updated_ms)
        return refusal(Status::stale, fmt::format("'{}' was changed by a request newer than this one", q.name));
    return std::nullopt;
}

bool live(const std::optional<NameRecord>& record, std::uint64_t now_ms) {
    return record && record->expires_ms > now_ms && !record->value.empty();
}

// A deletion leaves a tombstone until every request older than it is stale by its own
// timestamp, so the deleted owner's earlier register, replayed to a server that forgot its
// reply (a restart, another instance), cannot bring the name back.
bool replays_before_tombstone(const pnp::Request& q, const std::optional<NameRecord>& record, std::uint64_t now_ms) {
    return record && record->value.empty() && record->expires_ms > now_ms && record->owner == q.owner &&
           q.timestamp_ms <= record->updated_ms;
}

// Runs `body` in one write transaction; rolls back when it fails or refuses.
template <class Body>
Result<Reply> transaction(NameStore& store, Body&& body) {
    if (auto r = store.begin(); !r) return tl::unexpected(r.error());
    auto reply = body();
    if (!reply || reply->status != Status::ok) {
        store.rollback();
        return reply;
    }
    if (auto r = store.commit(); !r) {
        store.rollback();
        return tl::unexpected(r.error());
    }
    return reply;
}

}  // namespace

Reply Registry::apply(const pnp::Request& q, std::string_view source, std::uint64_t now_ms) {
    Result<Reply> reply;
    if (q.timestamp_ms > now_ms + limits_.clock_skew_ms)
        reply = refusal(Status::stale, fmt::format("request timestamp is {} ms in the future (clock skew allowed: {} ms)",
                                                   q.timestamp_ms - now_ms, limits_.clock_skew_ms));
    else if (q.timestamp_ms + std::uint64_t{q.lifetime_s} * 1000 < now_ms)
        reply = refusal(Status::stale, fmt::format("request expired {} ms ago (timestamp + lifetime {} s)",
                                                   now_ms - q.timestamp_ms - std::uint64_t{q.lifetime_s} * 1000, q.lifetime_s));
    else if (q.op == pnp::Op::register_name)
        reply = register_name(q, source, now_ms);
    else if (q.op == pnp::Op::lookup)
        reply = lookup(q, now_ms);
    else
        reply = remove(q, now_ms);
    if (!reply) {
        spdlog::error("store: {}", reply.error().message);
        reply = refusal(Status::server_error, "the name store failed; nothing was changed");
    }
    reply->id = q.id;
    return std::move(*reply);
}

Result<Reply> Registry::register_name(const pnp::Request& q, std::string_view source, std::uint64_t now_ms) {
    return transaction(store_, [&]() -> Result<Reply> {
        auto existing = store_.find(q.name);
        if (!existing) return tl::unexpected(existing.error());
        NameRecord record{q.name, q.owner, q.value, std::string(source), now_ms, q.timestamp_ms, now_ms + limits_.name_ttl_ms};
        std::string detail = "registered";
        if (live(*existing, now_ms)) {
            auto& old = **existing;
            if (auto refused = check_owner(q, old)) return *refused;
            record.created_ms = old.created_ms;  // an update keeps its age (and its place in the bump order)
            record.source = old.source;
            detail = "updated";
        } else {
            if (replays_before_tombstone(q, *existing, now_ms))
                return refusal(Status::stale, fmt::format("'{}' was deleted by a request newer than this one", q.name));
            auto held = store_.count_by_source(source, now_ms);
            if (!held) return tl::unexpected(held.error());
            if (*held >= limits_.names_per_source) {
                if (!limits_.bump)
                    return refusal(Status::quota, fmt::format("{} holds {} names, the most allowed per address", source, *held));
                auto oldest = store_.oldest_by_source(source, now_ms);
                if (!oldest) return tl::unexpected(oldest.error());
                if (*oldest) {
                    if (auto r = store_.erase(**oldest); !r) return tl::unexpected(r.error());
                    detail = fmt::format("registered; bumped '{}', the oldest of {} names from {}", **oldest, *held, source);
                    spdlog::info("bump: '{}' evicted by '{}' ({} names from {})", **oldest, q.name, *held, source);
                }
            }
            auto total = store_.count_live(now_ms);
            if (!total) return tl::unexpected(total.error());
            if (*total >= limits_.max_names)
                return refusal(Status::quota, fmt::format("this server holds {} names, its limit", *total));
        }
        if (auto r = store_.upsert(record); !r) return tl::unexpected(r.error());
        Reply ok;
        ok.expires_ms = record.expires_ms;
        ok.owner = record.owner;
        ok.detail = std::move(detail);
        return ok;
    });
}

Result<Reply> Registry::lookup(const pnp::Request& q, std::uint64_t now_ms) {
    auto existing = store_.find(q.name);
    if (!existing) return tl::unexpected(existing.error());
    if (!live(*existing, now_ms)) return refusal(Status::not_found, fmt::format("no name '{}'", q.name));
    Reply ok;
    ok.expires_ms = (*existing)->expires_ms;
    ok.owner = (*existing)->owner;
    ok.value = (*existing)->value;
    return ok;
}

Result<Reply> Registry::remove(const pnp::Request& q, std::uint64_t now_ms) {
    return transaction(store_, [&]() -> Result<Reply> {
        auto existing = store_.find(q.name);
        if (!existing) return tl::unexpected(existing.error());
        if (!live(*existing, now_ms)) return refusal(Status::not_found, fmt::format("no name '{}'", q.name));
        if (auto refused = check_owner(q, **existing)) return *refused;
        auto tombstone = **existing;
        tombstone.value.clear();
        tombstone.updated_ms = q.timestamp_ms;
        tombstone.expires_ms = now_ms + std::uint64_t{pnp::max_lifetime_s} * 1000 + limits_.clock_skew_ms;
        if (auto r = store_.upsert(tombstone); !r) return tl::unexpected(r.error());
        Reply ok;
        ok.detail = "deleted";
        return ok;
    });
}

}  // namespace warpgate::pnpd
