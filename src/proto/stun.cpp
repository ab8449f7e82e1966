#include "proto/stun.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "proto/crc32.hpp"

namespace warpgate::stun {

namespace {

// Big-endian loads; callers check bounds first (a dedicated reader would only wrap these).
std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t load32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
void store16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
void store32(Bytes& out, std::uint32_t v) {
    store16(out, static_cast<std::uint16_t>(v >> 16));
    store16(out, static_cast<std::uint16_t>(v));
}

constexpr std::uint32_t fingerprint_xor = 0x5354554E;  // "STUN", RFC 8489 §14.7
constexpr std::size_t max_text = 763;                  // RFC 8489 §14.8, §14.14 (bytes)
constexpr std::uint8_t family_v4 = 0x01;
constexpr std::uint8_t family_v6 = 0x02;

constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// RFC 8489 §5: class bits C1 C0 sit at type bits 8 and 4, the method fills the other 12.
MessageClass class_of(std::uint16_t type) {
    return static_cast<MessageClass>(((type >> 7) & 0x2) | ((type >> 4) & 0x1));
}
std::uint16_t method_of(std::uint16_t type) {
    return static_cast<std::uint16_t>((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
}
std::uint16_t message_type(Method method, MessageClass cls) {
    auto m = static_cast<std::uint16_t>(method);
    auto c = static_cast<std::uint16_t>(cls);
    return static_cast<std::uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                                      ((c & 0x1) << 4) | ((c & 0x2) << 7));
}

std::string printable(ByteView bytes) {
    std::string s(as_chars(bytes));
    // UTF-8 multi-byte sequences become '?' too: these texts are for logs, not for display.
    std::replace_if(s.begin(), s.end(), [](char c) { return c < 0x20 || c > 0x7E; }, '?');
    return s;
}

// The header checks shared by decode() and message_size().
Result<std::size_t> check_header(ByteView bytes) {
    if (bytes.size() < header_size)
        return fail(Errc::malformed, fmt::format("STUN message of {} bytes is shorter than its 20-byte header", bytes.size()));
    if (bytes[0] & 0xC0) return fail(Errc::malformed, "not a STUN message: the two leading bits are not zero");
    std::size_t length = load16(&bytes[2]);
    if (length % 4) return fail(Errc::malformed, fmt::format("STUN length {} is not a multiple of 4", length));
    if (load32(&bytes[4]) != magic_cookie)
        return fail(Errc::malformed, fmt::format("wrong STUN magic cookie 0x{:08x}", load32(&bytes[4])));
    return header_size + length;
}

Result<Message> check_fingerprint(Message m, ByteView bytes, std::size_t attribute_offset) {
    const auto& fp = m.attributes.back();
    if (fp.value.size() != 4) return fail(Errc::malformed, "FINGERPRINT value is not 4 bytes");
    std::uint32_t expected = proto::crc32(bytes.first(attribute_offset)) ^ fingerprint_xor;
    if (load32(fp.value.data()) != expected) return fail(Errc::malformed, "FINGERPRINT does not match the message");
    m.fingerprinted = true;
    return m;
}

Result<Endpoint> read_address_bytes(const Attribute& a, ByteView mask) {
    if (a.value.size() < 4) return fail(Errc::malformed, fmt::format("address attribute 0x{:04x} shorter than 4 bytes", a.type));
    std::uint8_t family = a.value[1];
    std::size_t ip_size = family == family_v4 ? 4 : family == family_v6 ? 16 : 0;
    if (ip_size == 0) return fail(Errc::malformed, fmt::format("address attribute 0x{:04x} has unknown family 0x{:02x}", a.type, family));
    if (a.value.size() != 4 + ip_size)
        return fail(Errc::malformed, fmt::format("address attribute 0x{:04x} is {} bytes, its family needs {}", a.type, a.value.size(), 4 + ip_size));
    auto port = static_cast<std::uint16_t>(load16(&a.value[2]) ^ load16(mask.data()));
    if (family == family_v4) {
        asio::ip::address_v4::bytes_type ip;
        for (std::size_t i = 0; i < 4; ++i) ip[i] = a.value[4 + i] ^ mask[i];
        return Endpoint{asio::ip::address_v4(ip), port};
    }
    asio::ip::address_v6::bytes_type ip;
    for (std::size_t i = 0; i < 16; ++i) ip[i] = a.value[4 + i] ^ mask[i];
    return Endpoint{asio::ip::address_v6(ip), port};
}

// The XOR mask of RFC 8489 §14.2: cookie then transaction id (IPv4 uses the first 4 bytes).
std::array<std::uint8_t, 16> xor_mask(const TransactionId& id) {
    std::array<std::uint8_t, 16> mask{};
    mask[0] = magic_cookie >> 24;
    mask[1] = (magic_cookie >> 16) & 0xFF;
    mask[2] = (magic_cookie >> 8) & 0xFF;
    mask[3] = magic_cookie & 0xFF;
    std::copy(id.begin(), id.end(), mask.begin() + 4);
    return mask;
}

// The value of an address attribute, unmasked.
Bytes address_value(const Endpoint& e) {
    Bytes value{0, e.ip.is_v6() ? family_v6 : family_v4};
    store16(value, e.port);
    if (e.ip.is_v6()) {
        auto ip = e.ip.to_v6().to_bytes();
        value.insert(value.end(), ip.begin(), ip.end());
    } else {
        auto ip = e.ip.to_v4().to_bytes();
        value.insert(value.end(), ip.begin(), ip.end());
    }
    return value;
}

}  // namespace

const Attribute* Message::find(std::uint16_t type) const noexcept {
    auto it = std::find_if(attributes.begin(), attributes.end(), [type](const Attribute& a) { return a.type == type; });
    return it == attributes.end() ? nullptr : &*it;
}

Result<std::size_t> message_size(ByteView header) { return check_header(header.first(std::min(header.size(), header_size))); }

Result<Message> decode(ByteView bytes) {
    auto size = check_header(bytes);
    if (!size) return tl::unexpected(size.error());
    if (*size != bytes.size())
        return fail(Errc::malformed, fmt::format("STUN length field says {} bytes of attributes, the message carries {}",
                                                 *size - header_size, bytes.size() - header_size));
    Message m;
    auto type = load16(&bytes[0]);
    m.cls = class_of(type);
    m.method = static_cast<Method>(method_of(type));
    std::copy_n(bytes.begin() + 8, m.transaction_id.size(), m.transaction_id.begin());

    bool after_integrity = false;
    std::size_t offset = header_size;
    while (offset < bytes.size()) {
        if (bytes.size() - offset < 4) return fail(Errc::malformed, "truncated STUN attribute header");
        Attribute a{load16(&bytes[offset]), {}};
        std::size_t length = load16(&bytes[offset + 2]);
        std::size_t value_at = offset + 4;
        if (padded(length) > bytes.size() - value_at)
            return fail(Errc::malformed, fmt::format("STUN attribute 0x{:04x} of length {} overruns the message", a.type, length));
        a.value = bytes.subspan(value_at, length);
        if (!m.attributes.empty() && m.attributes.back().type == attr::fingerprint)
            return fail(Errc::malformed, "FINGERPRINT is not the last attribute");
        bool keep = !after_integrity || a.type == attr::fingerprint || a.type == attr::message_integrity_sha256;
        if (keep) m.attributes.push_back(a);
        if (a.type == attr::fingerprint) {
            auto checked = check_fingerprint(std::move(m), bytes, offset);
            if (!checked) return checked;
            m = std::move(*checked);
        }
        after_integrity = after_integrity || a.type == attr::message_integrity || a.type == attr::message_integrity_sha256;
        offset = value_at + padded(length);
    }
    return m;
}

Result<Endpoint> read_address(const Attribute& a) {
    static constexpr std::array<std::uint8_t, 16> no_mask{};
    return read_address_bytes(a, no_mask);
}

Result<Endpoint> read_xor_address(const Attribute& a, const TransactionId& id) {
    return read_address_bytes(a, xor_mask(id));
}

Result<ErrorCode> read_error_code(const Attribute& a) {
    if (a.value.size() < 4) return fail(Errc::malformed, "ERROR-CODE shorter than 4 bytes");
    if (a.value.size() - 4 > max_text) return fail(Errc::malformed, "ERROR-CODE reason phrase longer than 763 bytes");
    int cls = a.value[2] & 0x07;
    int number = a.value[3];
    if (cls < 3 || cls > 6 || number > 99)
        return fail(Errc::malformed, fmt::format("ERROR-CODE class {} number {} is outside 300..699", cls, number));
    return ErrorCode{cls * 100 + number, printable(a.value.subspan(4))};
}

Result<std::string> read_text(const Attribute& a) {
    if (a.value.size() > max_text) return fail(Errc::malformed, fmt::format("text attribute 0x{:04x} longer than 763 bytes", a.type));
    return printable(a.value);
}

MessageWriter::MessageWriter(Method method, MessageClass cls, const TransactionId& id) : id_(id) {
    store16(bytes_, message_type(method, cls));
    store16(bytes_, 0);  // length, set by finish()
    store32(bytes_, magic_cookie);
    bytes_.insert(bytes_.end(), id.begin(), id.end());
}

MessageWriter& MessageWriter::add(std::uint16_t type, ByteView value) {
    store16(bytes_, type);
    store16(bytes_, static_cast<std::uint16_t>(value.size()));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    bytes_.resize(padded(bytes_.size()), 0);
    return *this;
}

MessageWriter& MessageWriter::add_address(std::uint16_t type, const Endpoint& e) { return add(type, address_value(e)); }

MessageWriter& MessageWriter::add_xor_address(std::uint16_t type, const Endpoint& e) {
    auto value = address_value(e);
    auto mask = xor_mask(id_);
    for (std::size_t i = 2; i < value.size(); ++i) value[i] ^= mask[i < 4 ? i - 2 : i - 4];
    return add(type, value);
}

MessageWriter& MessageWriter::add_error_code(int code, std::string_view reason) {
    Bytes value{0, 0, static_cast<std::uint8_t>(code / 100), static_cast<std::uint8_t>(code % 100)};
    value.insert(value.end(), reason.begin(), reason.end());
    return add(attr::error_code, value);
}

Bytes MessageWriter::finish(bool fingerprint) {
    auto set_length = [this](std::size_t attributes) {
        bytes_[2] = static_cast<std::uint8_t>(attributes >> 8);
        bytes_[3] = static_cast<std::uint8_t>(attributes);
    };
    if (fingerprint) {
        // The length must already count the FINGERPRINT when the CRC is computed (§14.7).
        set_length(bytes_.size() - header_size + 8);
        std::uint32_t crc = proto::crc32(bytes_) ^ fingerprint_xor;
        store16(bytes_, attr::fingerprint);
        store16(bytes_, 4);
        store32(bytes_, crc);
    }
    set_length(bytes_.size() - header_size);
    return std::move(bytes_);
}

}  // namespace warpgate::stun
