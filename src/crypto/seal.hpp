// Sealed boxes: anonymous public-key encryption to a node's identity key, for signaling
// messages that travel through untrusted brokers (issue 6).
//
//   0        1                                 34                      n-16       n
//   +--------+---------------------------------+-----------------------+----------+
//   | 0x01   | ephemeral public key (33 bytes, | ciphertext            | Poly1305 |
//   |version | compressed secp256k1)           | (= plaintext length)  | tag (16) |
//   +--------+---------------------------------+-----------------------+----------+
//
// shared = ECDH(ephemeral, recipient) x coordinate
// key(32) || nonce(12) = HKDF-SHA256(ikm = shared, salt = ephemeral_pub || recipient_pub,
//                                    info = "warpgate-seal-v1")
// ChaCha20-Poly1305 with aad = bytes[0..34) || caller's aad. The key is used for one message
// only (the ephemeral key is fresh), so a derived nonce is safe. See docs/link-handshake.md.
#pragma once
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/identity.hpp"

namespace warpgate::crypto {

inline constexpr std::uint8_t seal_version = 0x01;
inline constexpr std::size_t seal_overhead = 1 + public_key_size + 16;

// Errc::malformed when recipient_pub33 is not a valid compressed secp256k1 point.
Result<Bytes> seal(ByteView recipient_pub33, ByteView plaintext, ByteView aad);
// Errc::malformed when too short or the ephemeral key is invalid, Errc::unsupported for an
// unknown version, Errc::auth_failed when the box was tampered with, sealed to another key
// or the aad differs.
Result<Bytes> open(const IdentityKey& recipient, ByteView sealed, ByteView aad);

}  // namespace warpgate::crypto
