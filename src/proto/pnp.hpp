// PNP, the Peer Name Protocol (issue 18, docs/pnp.md): a human name ("alice") maps to a value
// (a node address) owned by the identity key that first registered it. Pure codecs, no I/O.
//
// A request is signed by the requester's identity key and sealed (crypto::seal) to the
// server's public key; it carries a fresh 32-byte reply key, and the reply is sealed with
// ChaCha20-Poly1305 under that key, so only the requester reads it.
//
// Request plaintext (sealed: crypto::seal(server_pub, plaintext, aad = "warpgate-pnp-request-v1")):
//
//    0         1              17                49   50             83             91         93
//   +---------+--------------+-----------------+----+--------------+--------------+----------+
//   | version | request id   | reply key       | op | owner key    | timestamp ms | lifetime |
//   |   (1)   |    (16)      |   (32)          |(1) | (33, compr.) | (8, unix)    | s (2)    |
//   +---------+--------------+-----------------+----+--------------+--------------+----------+
//   | name len (1) | name (1..63) | value len (2) | value (0..2048) | signature (64)          |
//   +--------------+--------------+---------------+-----------------+-------------------------+
//   signature = ECDSA-SHA256 (crypto::IdentityKey::sign) over
//               "warpgate-pnp-v1" || server public key (33) || every plaintext byte before it
//
// Reply (a UDP datagram, or one TCP frame):
//
//    0         1              17        29
//   +---------+--------------+---------+------------------------------------------------+
//   | version | request id   | nonce   | ChaCha20-Poly1305(reply key, nonce, body)      |
//   |   (1)   |    (16)      |  (12)   | aad = "warpgate-pnp-reply-v1" || bytes[0..29)  |
//   +---------+--------------+---------+------------------------------------------------+
//   body: status(1) expires_ms(8) owner_len(1: 0|33) owner value_len(2) value detail_len(1) detail
//
// TCP frame: length (2, big-endian, 1..max_message_size) || message.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/aead.hpp"
#include "crypto/identity.hpp"

namespace warpgate::pnp {

inline constexpr std::uint8_t version = 1;
inline constexpr std::size_t max_name_size = 63;     // one DNS label
inline constexpr std::size_t max_value_size = 2048;  // a node address's text with several interfaces
inline constexpr std::uint16_t max_lifetime_s = 300; // a request is accepted at most this long
inline constexpr std::size_t max_detail_size = 255;
inline constexpr std::size_t request_id_size = 16;
inline constexpr std::size_t reply_header_size = 1 + request_id_size + crypto::aead_nonce_size;
// Every request and reply fits in one UDP datagram and one TCP frame of this size.
inline constexpr std::size_t max_message_size = 4096;
inline constexpr std::size_t frame_header_size = 2;

using RequestId = std::array<std::uint8_t, request_id_size>;

enum class Op : std::uint8_t { register_name = 1, lookup = 2, remove = 3 };

enum class Status : std::uint8_t {
    ok = 0,
    malformed = 1,           // the request opened but breaks the format
    bad_signature = 2,       // the signature is not the claimed owner key's
    stale = 3,               // outside its timestamp + lifetime, or older than the record's last change
    replayed = 4,            // this request id was used before by a different request
    owned_by_other_key = 5,  // the name belongs to another key
    not_found = 6,           // no such name (or it expired)
    quota = 7,               // the source address or the server holds as many names as allowed
    rate_limited = 8,        // too many requests from this source or key
    server_error = 9,        // the store failed; nothing was changed
};
std::string_view status_name(Status s);

struct Request {
    RequestId id{};
    crypto::AeadKey reply_key{};
    Op op = Op::lookup;
    Bytes owner;                     // 33-byte compressed public key of the signer
    std::uint64_t timestamp_ms = 0;  // signer's clock, ms since the Unix epoch
    std::uint16_t lifetime_s = 60;   // accepted until timestamp + lifetime
    std::string name;                // valid_name()
    Bytes value;                     // register: 1..max_value_size bytes; otherwise empty
};

struct Reply {
    RequestId id{};
    Status status = Status::ok;
    std::uint64_t expires_ms = 0;  // register and lookup: when the name expires unless refreshed
    Bytes owner;                   // lookup, and owned_by_other_key: the owning key (33) or empty
    Bytes value;                   // lookup: the name's value
    std::string detail;            // a sentence for logs and users; at most max_detail_size bytes
};

// A DNS label: 1..63 of a-z 0-9 '-', not starting or ending with '-'. Names are compared as
// bytes, so callers lower-case first (normalise_name).
bool valid_name(std::string_view name);
// Lower-cases; Errc::config naming the rule when the result is not a valid name.
Result<std::string> normalise_name(std::string_view name);

// The signed plaintext; `signer` signs whatever request.owner says (tests forge with that).
Bytes encode_request(const Request& request, ByteView server_pub, const crypto::IdentityKey& signer);
// Parses and verifies the plaintext: Errc::malformed / unsupported for format errors,
// Errc::auth_failed when the signature is not the owner's over this server's key.
Result<Request> decode_request(ByteView plaintext, ByteView server_pub);
// Where to send the reply when the rest of the plaintext is malformed: its id and reply key,
// when at least those bytes are there and the version is ours.
std::optional<std::pair<RequestId, crypto::AeadKey>> reply_route(ByteView plaintext);

// The wire request: encode_request sealed to the server.
Result<Bytes> seal_request(const Request& request, ByteView server_pub, const crypto::IdentityKey& signer);
// The server side: opens the seal (Errc::auth_failed / malformed when it does not open; no
// reply is possible then) and returns the plaintext for decode_request / reply_route.
Result<Bytes> open_request(const crypto::IdentityKey& server, ByteView sealed);

Bytes seal_reply(const Reply& reply, const crypto::AeadKey& reply_key, const crypto::AeadNonce& nonce);
// Errc::auth_failed when it does not open under the key, Errc::malformed / unsupported for
// format errors. A refusal is not an error here: it is a Reply with its status.
Result<Reply> open_reply(ByteView sealed, const crypto::AeadKey& reply_key);
// The request id of a reply, unauthenticated (to match it to a pending request).
std::optional<RequestId> reply_id(ByteView sealed);

// TCP framing: length prefix. frame_length() reads a header; Errc::malformed for 0 or more
// than max_message_size.
Bytes frame(ByteView message);
Result<std::size_t> frame_length(ByteView header2);

// The TLD a name lives under, derived from the servers that hold it: ".p2p" for one server;
// for several, ".p2p-" and the first 8 hex digits of sha256 over their sorted public keys, so
// names from different server sets never collide.
std::string tld(std::vector<Bytes> server_keys);
// "alice.p2p" -> "alice" when the suffix is `tld` (or absent); Errc::config otherwise.
Result<std::string> strip_tld(std::string_view full_name, std::string_view tld);

}  // namespace warpgate::pnp
