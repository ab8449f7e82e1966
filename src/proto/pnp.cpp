#include "proto/pnp.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "crypto/digest.hpp"
#include "crypto/seal.hpp"
#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::pnp {
namespace {

constexpr std::string_view signature_context = "warpgate-pnp-v1";
constexpr std::string_view request_aad = "warpgate-pnp-request-v1";
constexpr std::string_view reply_aad = "warpgate-pnp-reply-v1";
constexpr std::size_t route_size = 1 + request_id_size + crypto::aead_key_size;
constexpr std::size_t max_status = static_cast<std::size_t>(Status::server_error);

template <std::size_t N>
void read_array(net::ByteReader& r, std::array<std::uint8_t, N>& out, std::string_view what) {
    auto view = r.bytes(N, what);
    if (view.size() == N) std::copy(view.begin(), view.end(), out.begin());
}

Bytes signed_message(ByteView server_pub, ByteView body) {
    Bytes out(signature_context.begin(), signature_context.end());
    out.insert(out.end(), server_pub.begin(), server_pub.end());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

Bytes reply_aad_for(ByteView header) {
    Bytes out(reply_aad.begin(), reply_aad.end());
    out.insert(out.end(), header.begin(), header.end());
    return out;
}

// ASCII only: names are DNS labels, and locale rules would make one name two.
std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; });
    return out;
}

bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

std::string_view status_name(Status s) {
    switch (s) {
        case Status::ok: return "ok";
        case Status::malformed: return "malformed";
        case Status::bad_signature: return "bad_signature";
        case Status::stale: return "stale";
        case Status::replayed: return "replayed";
        case Status::owned_by_other_key: return "owned_by_other_key";
        case Status::not_found: return "not_found";
        case Status::quota: return "quota";
        case Status::rate_limited: return "rate_limited";
        case Status::server_error: return "server_error";
    }
    return "unknown";
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > max_name_size) return false;
    if (name.front() == '-' || name.back() == '-') return false;
    return std::all_of(name.begin(), name.end(), name_char);
}

Result<std::string> normalise_name(std::string_view name) {
    auto out = lower(name);
    if (!valid_name(out))
        return fail(Errc::config, fmt::format("nickname '{}' is not 1..{} letters, digits or '-' (not first or last)", name, max_name_size));
    return out;
}

Bytes encode_request(const Request& q, ByteView server_pub, const crypto::IdentityKey& signer) {
    net::ByteWriter w;
    w.u8(version);
    w.bytes(q.id);
    w.bytes(q.reply_key);
    w.u8(static_cast<std::uint8_t>(q.op));
    w.bytes(q.owner);
    w.u64(q.timestamp_ms);
    w.u16(q.lifetime_s);
    w.u8(static_cast<std::uint8_t>(q.name.size()));
    w.bytes(as_bytes(q.name));
    w.u16(static_cast<std::uint16_t>(q.value.size()));
    w.bytes(q.value);
    auto body = std::move(w).take();
    auto signature = signer.sign(signed_message(server_pub, body));
    body.insert(body.end(), signature.begin(), signature.end());
    return body;
}

Result<Request> decode_request(ByteView plaintext, ByteView server_pub) {
    if (plaintext.size() < crypto::signature_size) return fail(Errc::malformed, "pnp request: shorter than a signature");
    auto body = plaintext.first(plaintext.size() - crypto::signature_size);
    auto signature = plaintext.last(crypto::signature_size);
    net::ByteReader r(body, "pnp request");
    Request q;
    auto v = r.u8("version");
    if (r.ok() && v != version) r.reject(0, fmt::format("version {} (this build reads {})", v, version), Errc::unsupported);
    read_array(r, q.id, "request id");
    read_array(r, q.reply_key, "reply key");
    auto op_offset = r.offset();
    auto op = r.u8("op");
    if (r.ok() && (op < 1 || op > 3)) r.reject(op_offset, fmt::format("unknown op {}", op));
    q.op = static_cast<Op>(op);
    auto owner = r.bytes(crypto::public_key_size, "owner key");
    q.owner.assign(owner.begin(), owner.end());
    q.timestamp_ms = r.u64("timestamp");
    auto lifetime_offset = r.offset();
    q.lifetime_s = r.u16("lifetime");
    if (r.ok() && (q.lifetime_s == 0 || q.lifetime_s > max_lifetime_s))
        r.reject(lifetime_offset, fmt::format("lifetime {} s not in 1..{}", q.lifetime_s, max_lifetime_s));
    auto name_offset = r.offset();
    auto name_size = r.u8("name length");
    auto name = r.bytes(name_size, "name");
    q.name = as_chars(name);
    if (r.ok() && !valid_name(q.name)) r.reject(name_offset, "name is not 1..63 of a-z 0-9 '-' (not first or last)");
    auto value_offset = r.offset();
    auto value_size = r.u16("value length");
    auto value = r.bytes(value_size, "value");
    q.value.assign(value.begin(), value.end());
    if (r.ok() && q.op == Op::register_name && (value_size == 0 || value_size > max_value_size))
        r.reject(value_offset, fmt::format("register value of {} bytes, not 1..{}", value_size, max_value_size));
    if (r.ok() && q.op != Op::register_name && value_size != 0)
        r.reject(value_offset, "only register carries a value");
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    if (!crypto::verify(q.owner, signed_message(server_pub, body), signature))
        return fail(Errc::auth_failed, "pnp request: signature does not match the owner key (or was made for another server)");
    return q;
}

std::optional<std::pair<RequestId, crypto::AeadKey>> reply_route(ByteView plaintext) {
    if (plaintext.size() < route_size || plaintext[0] != version) return std::nullopt;
    std::pair<RequestId, crypto::AeadKey> out;
    std::memcpy(out.first.data(), plaintext.data() + 1, request_id_size);
    std::memcpy(out.second.data(), plaintext.data() + 1 + request_id_size, crypto::aead_key_size);
    return out;
}

Result<Bytes> seal_request(const Request& request, ByteView server_pub, const crypto::IdentityKey& signer) {
    return crypto::seal(server_pub, encode_request(request, server_pub, signer), as_bytes(request_aad));
}

Result<Bytes> open_request(const crypto::IdentityKey& server, ByteView sealed) {
    if (sealed.size() > max_message_size)
        return fail(Errc::malformed, fmt::format("pnp request of {} bytes exceeds {} bytes", sealed.size(), max_message_size));
    return crypto::open(server, sealed, as_bytes(request_aad));
}

Bytes seal_reply(const Reply& reply, const crypto::AeadKey& reply_key, const crypto::AeadNonce& nonce) {
    net::ByteWriter body;
    body.u8(static_cast<std::uint8_t>(reply.status));
    body.u64(reply.expires_ms);
    body.u8(static_cast<std::uint8_t>(reply.owner.size()));
    body.bytes(reply.owner);
    body.u16(static_cast<std::uint16_t>(reply.value.size()));
    body.bytes(reply.value);
    auto detail = std::string_view(reply.detail).substr(0, max_detail_size);
    body.u8(static_cast<std::uint8_t>(detail.size()));
    body.bytes(as_bytes(detail));
    auto plaintext = std::move(body).take();

    Bytes out(reply_header_size + plaintext.size() + crypto::aead_tag_size);
    out[0] = version;
    std::memcpy(out.data() + 1, reply.id.data(), request_id_size);
    std::memcpy(out.data() + 1 + request_id_size, nonce.data(), nonce.size());
    crypto::Aead(reply_key, crypto::Aead::Direction::seal)
        .seal(nonce, reply_aad_for(ByteView(out).first(reply_header_size)), plaintext, std::span(out).subspan(reply_header_size));
    return out;
}

std::optional<RequestId> reply_id(ByteView sealed) {
    if (sealed.size() < reply_header_size + crypto::aead_tag_size || sealed[0] != version) return std::nullopt;
    RequestId id{};
    std::memcpy(id.data(), sealed.data() + 1, request_id_size);
    return id;
}

Result<Reply> open_reply(ByteView sealed, const crypto::AeadKey& reply_key) {
    if (sealed.size() > max_message_size)
        return fail(Errc::malformed, fmt::format("pnp reply of {} bytes exceeds {} bytes", sealed.size(), max_message_size));
    if (sealed.size() < reply_header_size + crypto::aead_tag_size)
        return fail(Errc::malformed, fmt::format("pnp reply of {} bytes is shorter than its {}-byte overhead", sealed.size(),
                                                 reply_header_size + crypto::aead_tag_size));
    if (sealed[0] != version)
        return fail(Errc::unsupported, fmt::format("pnp reply version {} (this build reads {})", sealed[0], version));
    Reply reply;
    std::memcpy(reply.id.data(), sealed.data() + 1, request_id_size);
    crypto::AeadNonce nonce{};
    std::memcpy(nonce.data(), sealed.data() + 1 + request_id_size, nonce.size());
    Bytes plaintext(sealed.size() - reply_header_size - crypto::aead_tag_size);
    if (!crypto::Aead(reply_key, crypto::Aead::Direction::open)
             .open(nonce, reply_aad_for(sealed.first(reply_header_size)), sealed.subspan(reply_header_size), plaintext))
        return fail(Errc::auth_failed, "pnp reply failed authentication (tampered, or not sealed with this request's reply key)");

    net::ByteReader r(plaintext, "pnp reply");
    auto status = r.u8("status");
    if (r.ok() && status > max_status) r.reject(0, fmt::format("unknown status {}", status));
    reply.status = static_cast<Status>(status);
    reply.expires_ms = r.u64("expiry");
    auto owner_offset = r.offset();
    auto owner_size = r.u8("owner length");
    if (r.ok() && owner_size != 0 && owner_size != crypto::public_key_size)
        r.reject(owner_offset, fmt::format("owner key of {} bytes (0 or {})", owner_size, crypto::public_key_size));
    auto owner = r.bytes(owner_size, "owner key");
    reply.owner.assign(owner.begin(), owner.end());
    auto value_offset = r.offset();
    auto value_size = r.u16("value length");
    if (r.ok() && value_size > max_value_size) r.reject(value_offset, fmt::format("value of {} bytes exceeds {}", value_size, max_value_size));
    auto value = r.bytes(value_size, "value");
    reply.value.assign(value.begin(), value.end());
    auto detail_size = r.u8("detail length");
    reply.detail = as_chars(r.bytes(detail_size, "detail"));
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return reply;
}

Bytes frame(ByteView message) {
    net::ByteWriter w;
    w.u16(static_cast<std::uint16_t>(message.size()));
    w.bytes(message);
    return std::move(w).take();
}

Result<std::size_t> frame_length(ByteView header2) {
    net::ByteReader r(header2, "pnp frame");
    auto length = r.u16("length");
    if (r.ok() && (length == 0 || length > max_message_size)) r.reject(0, fmt::format("length {} not in 1..{}", length, max_message_size));
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return std::size_t{length};
}

std::string tld(std::vector<Bytes> server_keys) {
    if (server_keys.size() <= 1) return ".p2p";
    std::sort(server_keys.begin(), server_keys.end());
    Bytes all;
    for (auto& k : server_keys) all.insert(all.end(), k.begin(), k.end());
    auto digest = crypto::sha256(all);
    return ".p2p-" + to_hex(ByteView(digest).first(4));
}

Result<std::string> strip_tld(std::string_view full_name, std::string_view suffix) {
    auto dot = full_name.find('.');
    if (dot == std::string_view::npos) return normalise_name(full_name);
    auto given = full_name.substr(dot);
    if (lower(given) != suffix)
        return fail(Errc::config, fmt::format("nickname '{}' ends in '{}', but the configured nickname servers serve '{}'", full_name, given, suffix));
    return normalise_name(full_name.substr(0, dot));
}

}  // namespace warpgate::pnp
