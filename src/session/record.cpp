#include "session/record.hpp"

#include <fmt/format.h>

#include "crypto/handshake.hpp"
#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::session {
namespace {

constexpr std::uint8_t flag_secure = 0x01;

// The record's type byte, checked.
void expect_type(net::ByteReader& r, RecordType type) {
    auto got = r.u8("type");
    if (r.ok() && got != static_cast<std::uint8_t>(type)) r.reject(0, fmt::format("type 0x{:02X}", got));
}

bool read_flags(net::ByteReader& r) {
    auto offset = r.offset();
    auto flags = r.u8("flags");
    if (r.ok() && (flags & ~flag_secure)) r.reject(offset, fmt::format("unknown flags 0x{:02X}", flags));
    return flags & flag_secure;
}

// A handshake message of exactly `size` bytes when secure, nothing otherwise.
Bytes read_handshake(net::ByteReader& r, bool secure, std::size_t size) {
    if (!secure) return {};
    auto offset = r.offset();
    if (r.ok() && r.remaining() != size)
        r.reject(offset, fmt::format("handshake message of {} bytes (must be {})", r.remaining(), size));
    auto bytes = r.bytes(size, "handshake message");
    return Bytes(bytes.begin(), bytes.end());
}

SessionId read_id(net::ByteReader& r, const char* what) {
    auto offset = r.offset();
    auto id = r.u32(what);
    if (r.ok() && id == 0) r.reject(offset, std::string(what) + " 0");
    return id;
}

}  // namespace

bool is_record(std::uint8_t first_byte) noexcept { return first_byte >= 0xD1 && first_byte <= 0xD6; }

void put_id(std::uint8_t* out, SessionId id) noexcept {
    out[0] = static_cast<std::uint8_t>(id >> 24);
    out[1] = static_cast<std::uint8_t>(id >> 16);
    out[2] = static_cast<std::uint8_t>(id >> 8);
    out[3] = static_cast<std::uint8_t>(id);
}

SessionId get_id(const std::uint8_t* in) noexcept {
    return SessionId(in[0]) << 24 | SessionId(in[1]) << 16 | SessionId(in[2]) << 8 | in[3];
}

Bytes encode_hello(const Hello& hello) {
    net::ByteWriter w;
    w.u8(static_cast<std::uint8_t>(RecordType::hello));
    w.u8(record_version);
    w.u8(hello.secure ? flag_secure : 0);
    w.u32(hello.sender);
    w.bytes(hello.con_id);
    w.bytes(hello.handshake);
    return std::move(w).take();
}

Bytes encode_reply(const Reply& reply) {
    net::ByteWriter w;
    w.u8(static_cast<std::uint8_t>(RecordType::reply));
    w.u32(reply.receiver);
    w.u32(reply.sender);
    w.u8(reply.secure ? flag_secure : 0);
    w.bytes(reply.handshake);
    return std::move(w).take();
}

Bytes encode_refuse(const Refuse& refuse) {
    net::ByteWriter w;
    w.u8(static_cast<std::uint8_t>(RecordType::refuse));
    w.u32(refuse.receiver);
    auto reason = refuse.reason.substr(0, max_reason_size);
    if (reason.empty()) reason = "refused";
    w.bytes(as_bytes(reason));
    return std::move(w).take();
}

std::array<std::uint8_t, plain_header_size> plain_header(SessionId receiver, Kind kind) noexcept {
    std::array<std::uint8_t, plain_header_size> out{static_cast<std::uint8_t>(RecordType::plain)};
    put_id(out.data() + 1, receiver);
    out[sealed_prefix] = static_cast<std::uint8_t>(kind);
    return out;
}

RecordBuffer encode_plain(SessionId receiver, Kind kind, ByteView body) {
    RecordBuffer out(plain_header_size + body.size());
    auto header = plain_header(receiver, kind);
    std::copy(header.begin(), header.end(), out.data());
    std::copy(body.begin(), body.end(), out.data() + plain_header_size);
    return out;
}

RecordBuffer encode_sealed(crypto::SecureChannel& channel, SessionId receiver, Kind kind, ByteView body, bool out_of_band) {
    // type | receiver | counter | ciphertext of (kind | body) | tag
    RecordBuffer out(sealed_prefix + crypto::SecureChannel::overhead + 1 + body.size());
    out.data()[0] = static_cast<std::uint8_t>(RecordType::sealed);
    put_id(out.data() + 1, receiver);
    const auto kind_byte = static_cast<std::uint8_t>(kind);
    auto into = std::span(out.data(), out.size()).subspan(sealed_prefix);
    if (out_of_band)
        channel.seal_out_of_band_into({ByteView(&kind_byte, 1), body}, into);
    else
        channel.seal_into({ByteView(&kind_byte, 1), body}, into);
    return out;
}

Result<Hello> decode_hello(ByteView record) {
    net::ByteReader r(record, "hello record");
    Hello out;
    expect_type(r, RecordType::hello);
    auto version = r.u8("version");
    if (r.ok() && version != record_version)
        r.reject(1, fmt::format("version {} (this build speaks {})", version, record_version), Errc::unsupported);
    out.secure = read_flags(r);
    out.sender = read_id(r, "sender id");
    auto id = r.bytes(out.con_id.size(), "connection id");
    if (r.ok()) std::copy(id.begin(), id.end(), out.con_id.begin());
    out.handshake = read_handshake(r, out.secure, crypto::hello_size);
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

Result<Reply> decode_reply(ByteView record) {
    net::ByteReader r(record, "reply record");
    Reply out;
    expect_type(r, RecordType::reply);
    out.receiver = read_id(r, "receiver id");
    out.sender = read_id(r, "sender id");
    out.secure = read_flags(r);
    out.handshake = read_handshake(r, out.secure, crypto::reply_size);
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

Result<Refuse> decode_refuse(ByteView record) {
    net::ByteReader r(record, "refuse record");
    Refuse out;
    expect_type(r, RecordType::refuse);
    out.receiver = read_id(r, "receiver id");
    auto offset = r.offset();
    if (r.ok() && (r.remaining() == 0 || r.remaining() > max_reason_size))
        r.reject(offset, fmt::format("reason of {} bytes (1 to {})", r.remaining(), max_reason_size));
    auto reason = r.bytes(r.remaining(), "reason");
    if (!r.ok()) return tl::unexpected(r.error());
    // Shown to a user: printable ASCII only, whatever the peer sent.
    for (auto c : reason) out.reason.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    return out;
}

Bytes encode_punch(const Punch& punch) {
    net::ByteWriter w;
    w.u8(static_cast<std::uint8_t>(RecordType::punch));
    w.u8(static_cast<std::uint8_t>(punch.kind));
    w.u8(static_cast<std::uint8_t>(punch.role));
    w.bytes(punch.token);
    w.bytes(punch.nonce);
    w.bytes(punch.tag);
    return std::move(w).take();
}

Result<Punch> decode_punch(ByteView record) {
    net::ByteReader r(record, "punch record");
    Punch out;
    expect_type(r, RecordType::punch);
    auto kind = r.u8("kind");
    if (r.ok() && kind != 1 && kind != 2) r.reject(1, fmt::format("unknown punch kind {}", kind));
    out.kind = static_cast<Punch::Kind>(kind);
    auto role = r.u8("role");
    if (r.ok() && role > 1) r.reject(2, fmt::format("unknown punch role {}", role));
    out.role = static_cast<Punch::Role>(role);
    out.token = r.array<8>("punch token");
    out.nonce = r.array<8>("nonce");
    out.tag = r.array<16>("tag");
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

std::optional<PunchToken> punch_token_of(ByteView record) {
    if (record.size() != punch_size || record[0] != static_cast<std::uint8_t>(RecordType::punch)) return std::nullopt;
    PunchToken token;
    std::copy_n(record.begin() + 3, token.size(), token.begin());
    return token;
}

std::optional<SessionId> receiver_of(ByteView record) {
    if (record.size() < sealed_prefix) return std::nullopt;
    auto type = record[0];
    if (!is_record(type) || type == static_cast<std::uint8_t>(RecordType::hello) || type == static_cast<std::uint8_t>(RecordType::punch))
        return std::nullopt;
    auto id = get_id(record.data() + 1);
    if (id == 0) return std::nullopt;
    return id;
}

Result<Inner> decode_inner(ByteView plaintext) {
    if (plaintext.empty()) return fail(Errc::malformed, "session record without a kind byte");
    return decode_inner(plaintext[0], plaintext.subspan(1));
}

Result<Inner> decode_inner(std::uint8_t kind_byte, ByteView body) {
    if (kind_byte > max_kind) return fail(Errc::malformed, fmt::format("session record of unknown kind {}", kind_byte));
    auto kind = static_cast<Kind>(kind_byte);
    if ((kind == Kind::ping || kind == Kind::pong) && body.size() != 8)
        return fail(Errc::malformed, fmt::format("ping/pong with a {}-byte nonce (must be 8)", body.size()));
    if ((kind == Kind::confirm || kind == Kind::confirm_ack || kind == Kind::keepalive) && !body.empty())
        return fail(Errc::malformed, fmt::format("control record of kind {} with a {}-byte body", kind_byte, body.size()));
    if ((kind == Kind::ack || kind == Kind::join) && body.size() != 8)
        return fail(Errc::malformed, fmt::format("ack/join with a {}-byte body (must be 8)", body.size()));
    if (kind == Kind::close && body.size() > max_reason_size)
        return fail(Errc::malformed, fmt::format("close reason of {} bytes (at most {})", body.size(), max_reason_size));
    return Inner{kind, body};
}

std::optional<BodyLayout> body_layout(std::uint8_t type) noexcept {
    if (type == static_cast<std::uint8_t>(RecordType::plain)) return BodyLayout{plain_header_size, 0};
    if (type == static_cast<std::uint8_t>(RecordType::sealed)) return BodyLayout{max_body_head, crypto::aead_tag_size};
    return std::nullopt;
}

Result<std::size_t> decode_length(std::span<const std::uint8_t, tcp_length_size> prefix, std::size_t max_record) {
    std::size_t length = std::size_t(prefix[0]) << 24 | std::size_t(prefix[1]) << 16 | std::size_t(prefix[2]) << 8 | prefix[3];
    if (length == 0) return fail(Errc::malformed, "record of length 0");
    if (length > max_record)
        return fail(Errc::malformed, fmt::format("record of {} bytes exceeds the limit of {}", length, max_record));
    return length;
}

std::array<std::uint8_t, tcp_length_size> encode_length(std::size_t record_size) {
    auto n = static_cast<std::uint32_t>(record_size);
    return {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
            static_cast<std::uint8_t>(n)};
}

}  // namespace warpgate::session
