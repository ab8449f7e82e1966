#include "proto/turn.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::turn {

namespace {

constexpr std::uint8_t udp_protocol = 17;  // REQUESTED-TRANSPORT, IANA protocol numbers
constexpr std::uint8_t tcp_protocol = 6;
constexpr std::uint8_t family_v4 = 0x01;
constexpr std::uint8_t family_v6 = 0x02;

constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// A 32-bit attribute value: one byte (protocol, family) then three reserved zero bytes.
Bytes byte_then_rffu(std::uint8_t first) { return {first, 0, 0, 0}; }

Bytes u32_value(std::uint32_t v) {
    net::ByteWriter w;
    w.u32(v);
    return std::move(w).take();
}

Bytes finish(stun::MessageWriter w, const Credentials* credentials) {
    if (credentials) return sign(std::move(w), *credentials);
    return w.finish(false);
}

// Comprehension-required attributes a TURN response or indication may carry (RFC 8489 §18.3,
// RFC 8656 §18); anything else below 0x8000 makes the message unusable (RFC 8489 §6.3.3).
bool known_required(std::uint16_t type) {
    static constexpr std::uint16_t known[] = {
        stun::attr::mapped_address, stun::attr::username, stun::attr::message_integrity, stun::attr::error_code,
        stun::attr::unknown_attributes, stun::attr::realm, stun::attr::nonce, stun::attr::message_integrity_sha256,
        stun::attr::password_algorithm, stun::attr::userhash, stun::attr::xor_mapped_address,
        attr::channel_number, attr::lifetime, attr::xor_peer_address, attr::data, attr::xor_relayed_address,
        attr::requested_address_family, attr::even_port, attr::requested_transport, attr::dont_fragment,
        attr::reservation_token, attr::connection_id};
    return std::find(std::begin(known), std::end(known), type) != std::end(known);
}

Result<void> check_message(const stun::Message& m, stun::Method expected, stun::MessageClass cls) {
    if (m.method != expected)
        return fail(Errc::malformed, fmt::format("expected a {} message, got {}", method_name(expected), method_name(m.method)));
    if (m.cls != cls) return fail(Errc::malformed, fmt::format("{} message of the wrong class", method_name(expected)));
    for (const auto& a : m.attributes)
        if (stun::attr::comprehension_required(a.type) && !known_required(a.type))
            return fail(Errc::malformed, fmt::format("{} message carries unknown required attribute 0x{:04x}", method_name(expected), a.type));
    return {};
}

Result<std::chrono::seconds> read_lifetime(const stun::Message& m) {
    const auto* a = m.find(attr::lifetime);
    if (!a) return fail(Errc::malformed, fmt::format("{} response without LIFETIME", method_name(m.method)));
    if (a->value.size() != 4) return fail(Errc::malformed, "LIFETIME value is not 4 bytes");
    return std::chrono::seconds(net::ByteReader(a->value, "LIFETIME").u32("seconds"));
}

Result<std::uint32_t> read_connection_id(const stun::Message& m) {
    const auto* a = m.find(attr::connection_id);
    if (!a) return fail(Errc::malformed, fmt::format("{} message without CONNECTION-ID", method_name(m.method)));
    if (a->value.size() != 4) return fail(Errc::malformed, "CONNECTION-ID value is not 4 bytes");
    return net::ByteReader(a->value, "CONNECTION-ID").u32("connection id");
}

Result<std::optional<std::string>> read_optional_text(const stun::Message& m, std::uint16_t type) {
    const auto* a = m.find(type);
    if (!a) return std::optional<std::string>{};
    auto text = stun::read_text(*a);
    if (!text) return tl::unexpected(text.error());
    return std::optional<std::string>{*text};
}

}  // namespace

std::string method_name(stun::Method m) {
    if (m == method::allocate) return "Allocate";
    if (m == method::refresh) return "Refresh";
    if (m == method::send) return "Send";
    if (m == method::data) return "Data";
    if (m == method::create_permission) return "CreatePermission";
    if (m == method::channel_bind) return "ChannelBind";
    if (m == method::connect) return "Connect";
    if (m == method::connection_bind) return "ConnectionBind";
    if (m == method::connection_attempt) return "ConnectionAttempt";
    return fmt::format("method 0x{:03x}", static_cast<unsigned>(m));
}

Bytes encode(const stun::TransactionId& id, const AllocateRequest& r, const Credentials* credentials) {
    stun::MessageWriter w(method::allocate, stun::MessageClass::request, id);
    w.add(attr::requested_transport, byte_then_rffu(r.relay == TCP ? tcp_protocol : udp_protocol));
    if (r.family == IP6) w.add(attr::requested_address_family, byte_then_rffu(family_v6));
    else if (r.also_ipv6) w.add(attr::additional_address_family, byte_then_rffu(family_v6));
    if (r.lifetime) w.add(attr::lifetime, u32_value(static_cast<std::uint32_t>(r.lifetime->count())));
    return finish(std::move(w), credentials);
}

Bytes encode(const stun::TransactionId& id, const RefreshRequest& r, const Credentials* credentials) {
    stun::MessageWriter w(method::refresh, stun::MessageClass::request, id);
    w.add(attr::lifetime, u32_value(static_cast<std::uint32_t>(r.lifetime.count())));
    return finish(std::move(w), credentials);
}

Bytes encode(const stun::TransactionId& id, const CreatePermissionRequest& r, const Credentials* credentials) {
    stun::MessageWriter w(method::create_permission, stun::MessageClass::request, id);
    for (const auto& peer : r.peers) w.add_xor_address(attr::xor_peer_address, peer);
    return finish(std::move(w), credentials);
}

Bytes encode(const stun::TransactionId& id, const ChannelBindRequest& r, const Credentials* credentials) {
    stun::MessageWriter w(method::channel_bind, stun::MessageClass::request, id);
    net::ByteWriter channel;
    channel.u16(r.channel);
    channel.u16(0);
    w.add(attr::channel_number, std::move(channel).take());
    w.add_xor_address(attr::xor_peer_address, r.peer);
    return finish(std::move(w), credentials);
}

Bytes encode(const stun::TransactionId& id, const ConnectRequest& r, const Credentials* credentials) {
    stun::MessageWriter w(method::connect, stun::MessageClass::request, id);
    w.add_xor_address(attr::xor_peer_address, r.peer);
    return finish(std::move(w), credentials);
}

Bytes encode(const stun::TransactionId& id, const ConnectionBindRequest& r, const Credentials* credentials) {
    stun::MessageWriter w(method::connection_bind, stun::MessageClass::request, id);
    w.add(attr::connection_id, u32_value(r.connection_id));
    return finish(std::move(w), credentials);
}

Bytes encode_connection_attempt(const stun::TransactionId& id, const ConnectionAttempt& a) {
    stun::MessageWriter w(method::connection_attempt, stun::MessageClass::indication, id);
    w.add_xor_address(attr::xor_peer_address, a.peer);
    w.add(attr::connection_id, u32_value(a.connection_id));
    return w.finish(false);
}

Result<ConnectionAttempt> read_connection_attempt(const stun::Message& m) {
    auto checked = check_message(m, method::connection_attempt, stun::MessageClass::indication);
    if (!checked) return tl::unexpected(checked.error());
    const auto* peer = m.find(attr::xor_peer_address);
    if (!peer) return fail(Errc::malformed, "ConnectionAttempt without XOR-PEER-ADDRESS");
    auto from = stun::read_xor_address(*peer, m.transaction_id);
    if (!from) return tl::unexpected(from.error());
    auto id = read_connection_id(m);
    if (!id) return tl::unexpected(id.error());
    ConnectionAttempt a;
    a.connection_id = *id;
    a.peer = *from;
    return a;
}

Result<std::uint32_t> read_connect_success(const stun::Message& m) {
    auto checked = check_message(m, method::connect, stun::MessageClass::success);
    if (!checked) return tl::unexpected(checked.error());
    return read_connection_id(m);
}

Bytes encode_send(const stun::TransactionId& id, const Endpoint& peer, ByteView data) {
    stun::MessageWriter w(method::send, stun::MessageClass::indication, id);
    w.add_xor_address(attr::xor_peer_address, peer);
    w.add(attr::data, data);
    return w.finish(false);
}

Result<PeerData> read_data_indication(const stun::Message& m) {
    auto checked = check_message(m, method::data, stun::MessageClass::indication);
    if (!checked) return tl::unexpected(checked.error());
    const auto* peer = m.find(attr::xor_peer_address);
    if (!peer) return fail(Errc::malformed, "Data indication without XOR-PEER-ADDRESS");
    const auto* data = m.find(attr::data);
    if (!data) return fail(Errc::malformed, "Data indication without DATA");
    auto from = stun::read_xor_address(*peer, m.transaction_id);
    if (!from) return tl::unexpected(from.error());
    return PeerData{*from, data->value};
}

Result<ErrorResponse> read_error_response(const stun::Message& m) {
    if (m.cls != stun::MessageClass::error) return fail(Errc::malformed, "not an error response");
    const auto* a = m.find(stun::attr::error_code);
    if (!a) return fail(Errc::malformed, fmt::format("{} error response without ERROR-CODE", method_name(m.method)));
    auto code = stun::read_error_code(*a);
    if (!code) return tl::unexpected(code.error());
    ErrorResponse e{code->code, code->reason, {}, {}, {}};
    auto realm = read_optional_text(m, stun::attr::realm);
    if (!realm) return tl::unexpected(realm.error());
    e.realm = *realm;
    auto nonce = read_optional_text(m, stun::attr::nonce);
    if (!nonce) return tl::unexpected(nonce.error());
    e.nonce = *nonce;
    if (const auto* algorithms = m.find(stun::attr::password_algorithms)) {
        auto list = read_password_algorithms(*algorithms);
        if (!list) return tl::unexpected(list.error());
        e.password_algorithms.assign(algorithms->value.begin(), algorithms->value.end());
    }
    return e;
}

Result<Allocation> read_allocate_success(const stun::Message& m) {
    auto checked = check_message(m, method::allocate, stun::MessageClass::success);
    if (!checked) return tl::unexpected(checked.error());
    Allocation a;
    for (const auto& attribute : m.attributes) {
        if (attribute.type != attr::xor_relayed_address) continue;
        auto relayed = stun::read_xor_address(attribute, m.transaction_id);
        if (!relayed) return tl::unexpected(relayed.error());
        a.relayed.push_back(*relayed);
    }
    if (a.relayed.empty()) return fail(Errc::malformed, "Allocate response without XOR-RELAYED-ADDRESS");
    if (a.relayed.size() > 2 || (a.relayed.size() == 2 && a.relayed[0].family() == a.relayed[1].family()))
        return fail(Errc::malformed, "Allocate response with more than one relayed address of a family");
    std::stable_sort(a.relayed.begin(), a.relayed.end(), [](const Endpoint& x, const Endpoint& y) { return x.ip.is_v4() && y.ip.is_v6(); });
    const auto* mapped = m.find(stun::attr::xor_mapped_address);
    if (!mapped) return fail(Errc::malformed, "Allocate response without XOR-MAPPED-ADDRESS");
    auto reflexive = stun::read_xor_address(*mapped, m.transaction_id);
    if (!reflexive) return tl::unexpected(reflexive.error());
    a.mapped = *reflexive;
    auto lifetime = read_lifetime(m);
    if (!lifetime) return tl::unexpected(lifetime.error());
    a.lifetime = *lifetime;
    return a;
}

Result<std::chrono::seconds> read_refresh_success(const stun::Message& m) {
    auto checked = check_message(m, method::refresh, stun::MessageClass::success);
    if (!checked) return tl::unexpected(checked.error());
    return read_lifetime(m);
}

Result<void> read_empty_success(const stun::Message& m, stun::Method expected) { return check_message(m, expected, stun::MessageClass::success); }

Bytes encode_channel_data(std::uint16_t channel, ByteView data, bool stream) {
    net::ByteWriter w;
    w.u16(channel);
    w.u16(static_cast<std::uint16_t>(data.size()));
    w.bytes(data);
    auto out = std::move(w).take();
    if (stream) out.resize(padded(out.size()), 0);
    return out;
}

Result<ChannelData> decode_channel_data(ByteView bytes) {
    net::ByteReader r(bytes, "ChannelData");
    ChannelData c;
    c.channel = r.u16("channel number");
    std::size_t length = r.u16("length");
    if (!r.ok()) return tl::unexpected(r.error());
    if (!valid_channel(c.channel)) return fail(Errc::malformed, fmt::format("ChannelData channel 0x{:04x} is outside 0x4000-0x4FFF", c.channel));
    c.data = r.bytes(length, "application data");
    if (!r.ok()) return tl::unexpected(r.error());
    if (r.remaining() > padded(length) - length)
        return fail(Errc::malformed, fmt::format("ChannelData of length {} followed by {} bytes more than its padding", length, r.remaining()));
    return c;
}

Result<std::size_t> stream_frame_size(ByteView first4) {
    if (first4.size() < frame_header_size) return fail(Errc::malformed, "frame header shorter than 4 bytes");
    std::size_t length = static_cast<std::size_t>(first4[2]) << 8 | first4[3];
    auto first = first4[0];
    if (first <= 0x3F) {
        if (length % 4) return fail(Errc::malformed, fmt::format("STUN length {} is not a multiple of 4", length));
        return stun::header_size + length;
    }
    if (first >= 0x40 && first <= 0x4F) return channel_header_size + padded(length);
    return fail(Errc::malformed, fmt::format("stream from the TURN server carries neither STUN nor ChannelData (first byte {})", first));
}

}  // namespace warpgate::turn
