// STUN message codec (RFC 8489, https://www.rfc-editor.org/rfc/rfc8489), generic enough for
// every STUN usage: Binding (proto/stun_binding.hpp), NAT behaviour discovery (RFC 5780) and
// TURN (RFC 8656) build on the TLV iteration and the typed attribute readers here.
// Pure functions over byte spans: every decoder rejects malformed input with Errc::malformed
// and never reads outside the span it is given.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "net/byte_writer.hpp"

namespace warpgate::stun {

// RFC 8489 §5: the message header.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |0 0|     STUN Message Type     |         Message Length        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         Magic Cookie                          |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    |                     Transaction ID (96 bits)                  |
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The message type interleaves the class bits C1 C0 with the 12 method bits:
//
//      0                 1
//      2  3  4 5 6 7 8 9 0 1 2 3 4 5
//     +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
//     |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
//     |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
//     +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The length counts the attributes only (not the 20-byte header) and is a multiple of 4.
// RFC 3489 servers treat cookie + transaction id as one 128-bit id and echo it whole, so
// responses to our requests carry the cookie even from them: it is always checked.
inline constexpr std::size_t header_size = 20;
inline constexpr std::uint32_t magic_cookie = 0x2112A442;
using TransactionId = std::array<std::uint8_t, 12>;

enum class Method : std::uint16_t {
    binding = 0x001,  // RFC 8489; TURN (RFC 8656 §17) adds allocate 0x003 ... channel_bind 0x009
};

enum class MessageClass : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };

// Attribute types this codebase knows (RFC 8489 §18.3, RFC 5780 §7, RFC 3489 §11.2).
// Types below 0x8000 are comprehension-required: an agent that does not know one must fail.
namespace attr {
inline constexpr std::uint16_t mapped_address = 0x0001;
inline constexpr std::uint16_t response_address = 0x0002;  // RFC 3489, deprecated
inline constexpr std::uint16_t change_request = 0x0003;     // RFC 5780 §7.2
inline constexpr std::uint16_t source_address = 0x0004;     // RFC 3489: RESPONSE-ORIGIN's ancestor
inline constexpr std::uint16_t changed_address = 0x0005;    // RFC 3489: OTHER-ADDRESS's ancestor
inline constexpr std::uint16_t username = 0x0006;
inline constexpr std::uint16_t password = 0x0007;           // RFC 3489, deprecated
inline constexpr std::uint16_t message_integrity = 0x0008;
inline constexpr std::uint16_t error_code = 0x0009;
inline constexpr std::uint16_t unknown_attributes = 0x000A;
inline constexpr std::uint16_t reflected_from = 0x000B;     // RFC 3489, deprecated
inline constexpr std::uint16_t realm = 0x0014;
inline constexpr std::uint16_t nonce = 0x0015;
inline constexpr std::uint16_t message_integrity_sha256 = 0x001C;
inline constexpr std::uint16_t password_algorithm = 0x001D;
inline constexpr std::uint16_t userhash = 0x001E;
inline constexpr std::uint16_t xor_mapped_address = 0x0020;
inline constexpr std::uint16_t padding = 0x0026;            // RFC 5780 §7.6
inline constexpr std::uint16_t response_port = 0x0027;      // RFC 5780 §7.5
inline constexpr std::uint16_t password_algorithms = 0x8002;
inline constexpr std::uint16_t alternate_domain = 0x8003;
inline constexpr std::uint16_t software = 0x8022;
inline constexpr std::uint16_t alternate_server = 0x8023;
inline constexpr std::uint16_t fingerprint = 0x8028;
inline constexpr std::uint16_t response_origin = 0x802B;   // RFC 5780 §7.3
inline constexpr std::uint16_t other_address = 0x802C;     // RFC 5780 §7.4

constexpr bool comprehension_required(std::uint16_t type) { return type < 0x8000; }
}  // namespace attr

// RFC 8489 §14: each attribute is a TLV, its value padded to a multiple of 4 bytes (the
// padding is not counted in Length and its content is ignored).
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |         Type                  |            Length             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         Value (variable)                ....
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Attribute {
    std::uint16_t type = 0;
    ByteView value;  // a view into the decoded buffer, padding excluded
};

// A decoded message. Attributes are views: the buffer must outlive the Message.
struct Message {
    Method method = Method::binding;
    MessageClass cls = MessageClass::request;
    TransactionId transaction_id{};
    std::vector<Attribute> attributes;  // in wire order
    bool fingerprinted = false;         // a FINGERPRINT was present (decode() verified it)

    // The first attribute of this type (RFC 8489 §14: later duplicates are ignored).
    const Attribute* find(std::uint16_t type) const noexcept;
};

// Decodes one whole message (a UDP datagram, or a TCP frame of message_size() bytes).
// Rejects: short input, non-zero leading bits, a length that is not a multiple of 4 or does not
// match the input, a wrong magic cookie, a truncated attribute header, a value or its padding
// overrunning the message, a FINGERPRINT that is not last or does not verify. Attributes after
// MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are dropped, as
// RFC 8489 §14.5 requires.
Result<Message> decode(ByteView bytes);

// For stream transports (RFC 8489 §6.2.2): from the first 20 bytes, the whole message's size.
Result<std::size_t> message_size(ByteView header);

// RFC 8489 §14.1: MAPPED-ADDRESS, and with the same layout RFC 3489's CHANGED-ADDRESS and
// SOURCE-ADDRESS and RFC 5780's OTHER-ADDRESS and RESPONSE-ORIGIN.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |0 0 0 0 0 0 0 0|    Family     |           Port                |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    |                 Address (32 bits or 128 bits)                 |
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Family 0x01 is IPv4 (8-byte value), 0x02 IPv6 (20-byte value); anything else is malformed.
Result<Endpoint> read_address(const Attribute& a);

// RFC 8489 §14.2: XOR-MAPPED-ADDRESS (and TURN's XOR-PEER/RELAYED-ADDRESS): the same layout,
// the port XOR the cookie's top 16 bits, the address XOR the cookie (IPv4) or the cookie
// followed by the transaction id (IPv6).
Result<Endpoint> read_xor_address(const Attribute& a, const TransactionId& id);

// RFC 8489 §14.8: ERROR-CODE.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |           Reserved, should be 0         |Class|     Number    |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |      Reason Phrase (variable)                                ..
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct ErrorCode {
    int code = 0;        // 300..699: class * 100 + number
    std::string reason;  // non-printable bytes replaced by '?', safe to log
};
Result<ErrorCode> read_error_code(const Attribute& a);

// SOFTWARE (RFC 8489 §14.14) and other short UTF-8 texts, made safe to log.
Result<std::string> read_text(const Attribute& a);

// Builds a message attribute by attribute; finish() fills in the length and, when asked,
// appends FINGERPRINT (RFC 8489 §14.7: CRC-32 of everything before it, XOR 0x5354554E).
class MessageWriter {
public:
    MessageWriter(Method method, MessageClass cls, const TransactionId& id);
    MessageWriter& add(std::uint16_t type, ByteView value);
    MessageWriter& add_address(std::uint16_t type, const Endpoint& e);
    MessageWriter& add_xor_address(std::uint16_t type, const Endpoint& e);
    MessageWriter& add_error_code(int code, std::string_view reason);
    Bytes finish(bool fingerprint);  // the writer is spent afterwards

private:
    std::uint16_t type_;
    TransactionId id_;
    net::ByteWriter attributes_;
};

}  // namespace warpgate::stun
