#include "crypto/key_pair.hpp"

#include <secp256k1_ecdh.h>

#include <cstring>
#include <stdexcept>

#include "crypto/openssl.hpp"
#include "crypto/random.hpp"

namespace warpgate::crypto {
namespace {

secp256k1_context* make_context() {
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!ctx) throw std::runtime_error("libsecp256k1 context allocation failed");
    std::array<std::uint8_t, 32> seed{};
    random_private_bytes(seed);
    if (secp256k1_context_randomize(ctx, seed.data()) != 1) throw std::runtime_error("libsecp256k1 blinding failed");
    OPENSSL_cleanse(seed.data(), seed.size());
    return ctx;
}

// SEC 1 ECDH: the shared secret is the x coordinate alone (libsecp256k1 would hash the point).
int x_coordinate_only(unsigned char* out, const unsigned char* x32, const unsigned char*, void*) {
    std::memcpy(out, x32, shared_secret_size);
    return 1;
}

}  // namespace

const secp256k1_context* secp256k1_ctx() {
    static const secp256k1_context* const ctx = make_context();
    return ctx;
}

SecretScalar::SecretScalar(ByteView scalar32) { std::memcpy(bytes_.data(), scalar32.data(), scalar_size); }

SecretScalar::~SecretScalar() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

KeyPair KeyPair::generate() {
    // Rejection sampling gives a uniform scalar in [1, n-1]; a retry has probability ~2^-128.
    std::array<std::uint8_t, scalar_size> scalar{};
    for (;;) {
        random_private_bytes(scalar);
        if (auto pair = from_private_bytes(scalar)) {
            OPENSSL_cleanse(scalar.data(), scalar.size());
            return std::move(*pair);
        }
    }
}

Result<KeyPair> KeyPair::from_private_bytes(ByteView scalar32) {
    if (scalar32.size() != scalar_size)
        return fail(Errc::malformed, "a secp256k1 private key is 32 bytes, got " + std::to_string(scalar32.size()));
    if (secp256k1_ec_seckey_verify(secp256k1_ctx(), scalar32.data()) != 1)
        return fail(Errc::malformed, "secp256k1 private key is zero or not below the group order");
    secp256k1_pubkey point;
    if (secp256k1_ec_pubkey_create(secp256k1_ctx(), &point, scalar32.data()) != 1)
        throw std::runtime_error("secp256k1 public key of a valid scalar");
    Bytes public_key(public_key_size);
    std::size_t size = public_key.size();
    secp256k1_ec_pubkey_serialize(secp256k1_ctx(), public_key.data(), &size, &point, SECP256K1_EC_COMPRESSED);
    return KeyPair(SecretScalar(scalar32), std::move(public_key));
}

Result<Bytes> KeyPair::agree(ByteView peer_public33) const {
    auto peer = parse_public_key(peer_public33);
    if (!peer) return tl::unexpected(peer.error());
    Bytes secret(shared_secret_size);
    // Fails only for a point the parse already rejected or a product at infinity (impossible
    // with a scalar in [1, n-1] and a point of prime order).
    if (secp256k1_ecdh(secp256k1_ctx(), secret.data(), &*peer, scalar_.data(), x_coordinate_only, nullptr) != 1)
        return fail(Errc::malformed, "peer public key rejected for ECDH");
    return secret;
}

Result<secp256k1_pubkey> parse_public_key(ByteView public33) {
    if (public33.size() != public_key_size)
        return fail(Errc::malformed, "a compressed secp256k1 public key is 33 bytes, got " +
                                         std::to_string(public33.size()));
    if (public33[0] != 0x02 && public33[0] != 0x03)
        return fail(Errc::malformed, "public key does not start with a compressed-point prefix (02 or 03)");
    secp256k1_pubkey point;
    // The parse decompresses the point and fails when x has no point on the curve.
    if (secp256k1_ec_pubkey_parse(secp256k1_ctx(), &point, public33.data(), public33.size()) != 1)
        return fail(Errc::malformed, "public key is not a point on secp256k1");
    return point;
}

}  // namespace warpgate::crypto
