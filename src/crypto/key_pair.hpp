// A secp256k1 key pair (SEC 2 §2.4.1): the shape shared by identity keys and the ephemeral
// keys of the link handshake and sealed boxes, plus parsing of peers' public keys. The curve
// arithmetic is libsecp256k1's (Bitcoin Core's constant-time library, tens of microseconds per
// operation); OpenSSL's secp256k1 is its generic curve code, ten times slower.
#pragma once
#include <secp256k1.h>

#include <array>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::crypto {

inline constexpr std::size_t scalar_size = 32;      // big-endian private scalar
inline constexpr std::size_t public_key_size = 33;  // compressed point (SEC 1 §2.3.3)
inline constexpr std::size_t shared_secret_size = 32;

// The process's libsecp256k1 context, randomised once against side channels (blinding). Only
// const operations use it, so threads share it.
const secp256k1_context* secp256k1_ctx();

// A private scalar that wipes itself.
class SecretScalar {
public:
    SecretScalar() = default;
    explicit SecretScalar(ByteView scalar32);
    SecretScalar(const SecretScalar& other) = default;
    SecretScalar& operator=(const SecretScalar& other) = default;
    ~SecretScalar();
    const std::uint8_t* data() const { return bytes_.data(); }

private:
    std::array<std::uint8_t, scalar_size> bytes_{};
};

class KeyPair {
public:
    static KeyPair generate();
    // Rejects a wrong size, zero and scalars >= the group order n.
    static Result<KeyPair> from_private_bytes(ByteView scalar32);

    Bytes private_bytes() const { return Bytes(scalar_.data(), scalar_.data() + scalar_size); }
    const Bytes& public_key() const { return public_key_; }
    // ECDH (SEC 1 §3.3.1): the x coordinate of our scalar times the peer's point.
    Result<Bytes> agree(ByteView peer_public33) const;
    const SecretScalar& scalar() const { return scalar_; }

private:
    KeyPair(SecretScalar scalar, Bytes public_key) : scalar_(scalar), public_key_(std::move(public_key)) {}

    SecretScalar scalar_;
    Bytes public_key_;
};

// Accepts only a 33-byte compressed point (prefix 02 or 03) that lies on secp256k1.
Result<secp256k1_pubkey> parse_public_key(ByteView public33);

}  // namespace warpgate::crypto
