// STUN long-term credentials (RFC 8489 §9.2), as TURN uses them (RFC 8656 §5): the key
// derived from user, realm and password, and the MESSAGE-INTEGRITY (HMAC-SHA1, §14.5) and
// MESSAGE-INTEGRITY-SHA256 (§14.6) attributes that sign a message with it.
// Pure functions over byte spans. Usernames and passwords are used as given (no OpaqueString
// profile, RFC 8265): the ASCII credentials TURN servers hand out are unchanged by it.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>
#include "proto/stun.hpp"

namespace warpgate::turn {

// RFC 8489 §14.11, §18.5: the algorithms PASSWORD-ALGORITHM(S) name.
enum class PasswordAlgorithm : std::uint16_t { md5 = 0x0001, sha256 = 0x0002 };

// RFC 8489 §9.2.2: MD5(username ":" realm ":" password), or SHA-256 of the same for
// PASSWORD-ALGORITHM SHA-256.
Bytes long_term_key(std::string_view username, std::string_view realm, std::string_view password,
                    PasswordAlgorithm algorithm = PasswordAlgorithm::md5);

// RFC 8489 §14.12: PASSWORD-ALGORITHMS, a list of algorithm entries, each padded to 4 bytes.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |         Algorithm 1           | Algorithm 1 Parameters Length |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                    Algorithm 1 Parameters (variable)
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |         Algorithm 2           | Algorithm 2 Parameters Length |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    ...
//
// The algorithm numbers in order (unknown ones included: the list is echoed whole).
Result<std::vector<std::uint16_t>> read_password_algorithms(const stun::Attribute& a);

// What a client signs its requests with once a server challenged it (RFC 8489 §9.2.3, §9.2.4).
struct Credentials {
    std::string username;
    std::string realm;
    std::string nonce;
    Bytes key;  // long_term_key() for `algorithm`
    // The server's PASSWORD-ALGORITHMS value, echoed in every request: a server that sends
    // one gets PASSWORD-ALGORITHM and MESSAGE-INTEGRITY-SHA256 only (§9.2.4). Empty: plain
    // RFC 5389 style, MESSAGE-INTEGRITY with the MD5 key.
    Bytes password_algorithms;
    PasswordAlgorithm algorithm = PasswordAlgorithm::md5;
};

// Adds USERNAME, REALM, NONCE (and PASSWORD-ALGORITHMS, PASSWORD-ALGORITHM when the server
// offered them) to `w`, finishes it and appends MESSAGE-INTEGRITY or -SHA256.
Bytes sign(stun::MessageWriter w, const Credentials& credentials);

// Appends a MESSAGE-INTEGRITY (HMAC-SHA1, 20 bytes) or MESSAGE-INTEGRITY-SHA256 (32 bytes)
// attribute to a finished message without FINGERPRINT: the HMAC covers the message with its
// length field already counting the new attribute (RFC 8489 §14.5).
Bytes append_integrity(Bytes message, std::uint16_t type, ByteView key);

// Checks a decoded message's integrity over its wire bytes (the buffer `m` was decoded from).
// MESSAGE-INTEGRITY-SHA256 is checked when present (it may be truncated to 16..32 bytes,
// §14.6), else MESSAGE-INTEGRITY. Errc::auth_failed when neither is present or the HMAC
// differs; Errc::malformed for a value of the wrong size.
Result<void> verify_integrity(ByteView bytes, const stun::Message& m, ByteView key);

}  // namespace warpgate::turn
