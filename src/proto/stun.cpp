#include "proto/stun.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"
#include "proto/crc32.hpp"

namespace warpgate::stun {

namespace {

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

// The header checks shared by decode() and message_size(): the whole message's size.
Result<std::size_t> check_header(ByteView bytes) {
    if (bytes.size() < header_size)
        return fail(Errc::malformed, fmt::format("STUN message of {} bytes is shorter than its 20-byte header", bytes.size()));
    net::ByteReader r(bytes, "STUN header");
    auto type = r.u16("message type");
    std::size_t length = r.u16("message length");
    auto cookie = r.u32("magic cookie");
    if (type & 0xC000) return fail(Errc::malformed, "not a STUN message: the two leading bits are not zero");
    if (length % 4) return fail(Errc::malformed, fmt::format("STUN length {} is not a multiple of 4", length));
    if (cookie != magic_cookie) return fail(Errc::malformed, fmt::format("wrong STUN magic cookie 0x{:08x}", cookie));
    return header_size + length;
}

Result<Message> check_fingerprint(Message m, ByteView bytes, std::size_t attribute_offset) {
    const auto& fp = m.attributes.back();
    if (fp.value.size() != 4) return fail(Errc::malformed, "FINGERPRINT value is not 4 bytes");
    std::uint32_t expected = proto::crc32(bytes.first(attribute_offset)) ^ fingerprint_xor;
    if (net::ByteReader(fp.value, "FINGERPRINT").u32("CRC") != expected)
        return fail(Errc::malformed, "FINGERPRINT does not match the message");
    m.fingerprinted = true;
    return m;
}

Result<Endpoint> read_address_bytes(const Attribute& a, ByteView mask) {
    net::ByteReader r(a.value, "STUN address");
    r.u8("reserved byte");
    auto family = r.u8("family");
    auto port = static_cast<std::uint16_t>(r.u16("port") ^ (mask[0] << 8 | mask[1]));
    if (!r.ok()) return fail(Errc::malformed, fmt::format("address attribute 0x{:04x} shorter than 4 bytes", a.type));
    std::size_t ip_size = family == family_v4 ? 4 : family == family_v6 ? 16 : 0;
    if (ip_size == 0) return fail(Errc::malformed, fmt::format("address attribute 0x{:04x} has unknown family 0x{:02x}", a.type, family));
    if (r.remaining() != ip_size)
        return fail(Errc::malformed, fmt::format("address attribute 0x{:04x} is {} bytes, its family needs {}", a.type, a.value.size(), 4 + ip_size));
    auto ip = r.bytes(ip_size, "address");
    auto unmask = [&](auto bytes) {
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = ip[i] ^ mask[i];
        return bytes;
    };
    if (family == family_v4) return Endpoint{asio::ip::address_v4(unmask(asio::ip::address_v4::bytes_type{})), port};
    return Endpoint{asio::ip::address_v6(unmask(asio::ip::address_v6::bytes_type{})), port};
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
    net::ByteWriter w;
    w.u8(0);
    w.u8(e.ip.is_v6() ? family_v6 : family_v4);
    w.u16(e.port);
    if (e.ip.is_v6()) w.bytes(e.ip.to_v6().to_bytes());
    else w.bytes(e.ip.to_v4().to_bytes());
    return std::move(w).take();
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
    net::ByteReader r(bytes, "STUN message");
    Message m;
    auto type = r.u16("message type");
    m.cls = class_of(type);
    m.method = static_cast<Method>(method_of(type));
    r.u16("message length");
    r.u32("magic cookie");
    auto id = r.bytes(m.transaction_id.size(), "transaction id");
    std::copy(id.begin(), id.end(), m.transaction_id.begin());

    bool after_integrity = false;
    while (r.ok() && r.remaining() > 0) {
        auto offset = r.offset();
        Attribute a{r.u16("attribute type"), {}};
        std::size_t length = r.u16("attribute length");
        a.value = r.bytes(length, "attribute value");
        r.bytes(padded(length) - length, "attribute padding");
        if (!r.ok()) return fail(Errc::malformed, fmt::format("STUN attribute 0x{:04x} of length {} overruns the message", a.type, length));
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
    }
    if (!r.ok()) return tl::unexpected(r.error());
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

MessageWriter::MessageWriter(Method method, MessageClass cls, const TransactionId& id) : type_(message_type(method, cls)), id_(id) {}

MessageWriter& MessageWriter::add(std::uint16_t type, ByteView value) {
    attributes_.u16(type);
    attributes_.u16(static_cast<std::uint16_t>(value.size()));
    attributes_.bytes(value);
    static constexpr std::uint8_t zeros[3] = {};
    attributes_.bytes(ByteView(zeros, padded(value.size()) - value.size()));
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
    auto attributes = std::move(attributes_).take();
    net::ByteWriter w;
    w.u16(type_);
    // With a FINGERPRINT, the length must already count it when the CRC is computed (§14.7).
    w.u16(static_cast<std::uint16_t>(attributes.size() + (fingerprint ? 8 : 0)));
    w.u32(magic_cookie);
    w.bytes(id_);
    w.bytes(attributes);
    auto message = std::move(w).take();
    if (!fingerprint) return message;
    net::ByteWriter fp;
    fp.u16(attr::fingerprint);
    fp.u16(4);
    fp.u32(proto::crc32(message) ^ fingerprint_xor);
    auto tail = std::move(fp).take();
    message.insert(message.end(), tail.begin(), tail.end());
    return message;
}

}  // namespace warpgate::stun
