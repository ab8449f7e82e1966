// A secp256k1 key pair (SEC 2 §2.4.1): the shape shared by identity keys and the ephemeral
// keys of the link handshake and sealed boxes, plus parsing of peers' public keys.
#pragma once
#include <memory>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/openssl.hpp"

namespace warpgate::crypto {

inline constexpr std::size_t scalar_size = 32;      // big-endian private scalar
inline constexpr std::size_t public_key_size = 33;  // compressed point (SEC 1 §2.3.3)
inline constexpr std::size_t shared_secret_size = 32;

class KeyPair {
public:
    static KeyPair generate();
    // Rejects a wrong size, zero and scalars >= the group order n.
    static Result<KeyPair> from_private_bytes(ByteView scalar32);

    Bytes private_bytes() const;
    const Bytes& public_key() const { return public_key_; }
    // ECDH (SEC 1 §3.3.1): the x coordinate of our scalar times the peer's point.
    Result<Bytes> agree(ByteView peer_public33) const;
    EVP_PKEY* pkey() const { return pkey_.get(); }

private:
    KeyPair(std::shared_ptr<EVP_PKEY> pkey, Bytes public_key);

    std::shared_ptr<EVP_PKEY> pkey_;  // immutable once built, so copies share it
    Bytes public_key_;
};

// Accepts only a 33-byte compressed point that lies on secp256k1.
Result<PkeyPtr> parse_public_key(ByteView public33);

// The group and its order, for signature normalisation.
const EC_GROUP* secp256k1_group();
const BIGNUM* secp256k1_order();

}  // namespace warpgate::crypto
