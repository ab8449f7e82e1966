// A node's long-term identity: an ECDSA key on secp256k1, as in the original p2pd. The node id
// other nodes address it by is derived from the compressed public key.
#pragma once
#include <string>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/key_pair.hpp"

namespace warpgate::crypto {

inline constexpr std::size_t signature_size = 64;  // r || s, 32 bytes each, big-endian
inline constexpr std::size_t node_id_size = 25;     // hex characters

class IdentityKey {
public:
    static IdentityKey generate();
    // Rejects a wrong size, zero and scalars >= the group order n.
    static Result<IdentityKey> from_private_bytes(ByteView scalar32);

    Bytes private_bytes() const { return pair_.private_bytes(); }  // 32-byte big-endian scalar
    const Bytes& public_key() const { return pair_.public_key(); }  // 33-byte compressed point
    // ECDSA over SHA-256, as r || s with s normalised to the lower half of the order, so a
    // message has exactly one valid encoding of each signature (no malleability).
    Bytes sign(ByteView message) const;
    // ECDH with a peer's point (for opening sealed boxes addressed to this identity).
    Result<Bytes> agree(ByteView peer_public33) const { return pair_.agree(peer_public33); }

private:
    explicit IdentityKey(KeyPair pair) : pair_(std::move(pair)) {}
    KeyPair pair_;
};

// False on any malformed input: wrong sizes, a point off the curve, r or s out of range, a
// high s (which sign() never produces), or a signature that does not match.
bool verify(ByteView public_key33, ByteView message, ByteView signature64);
// The same with a key parse_public_key() already decompressed (the link handshake checks the
// key's encoding apart, and decompressing costs a field square root).
bool verify(const secp256k1_pubkey& public_key, ByteView message, ByteView signature64);

// First 25 hex characters of sha256(compressed public key).
std::string node_id(ByteView public_key33);

}  // namespace warpgate::crypto
