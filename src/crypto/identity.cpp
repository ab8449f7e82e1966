#include "crypto/identity.hpp"

#include <stdexcept>

#include "crypto/digest.hpp"

namespace warpgate::crypto {

IdentityKey IdentityKey::generate() { return IdentityKey(KeyPair::generate()); }

Result<IdentityKey> IdentityKey::from_private_bytes(ByteView scalar32) {
    auto pair = KeyPair::from_private_bytes(scalar32);
    if (!pair) return tl::unexpected(pair.error());
    return IdentityKey(std::move(*pair));
}

Bytes IdentityKey::sign(ByteView message) const {
    auto digest = sha256(message);
    secp256k1_ecdsa_signature sig;
    // RFC 6979 nonces; libsecp256k1 always produces the low-S form.
    if (secp256k1_ecdsa_sign(secp256k1_ctx(), &sig, digest.data(), pair_.scalar().data(), nullptr, nullptr) != 1)
        throw std::runtime_error("ECDSA signing with a valid key failed");
    Bytes out(signature_size);
    secp256k1_ecdsa_signature_serialize_compact(secp256k1_ctx(), out.data(), &sig);
    return out;
}

bool verify(ByteView public_key33, ByteView message, ByteView signature64) {
    auto key = parse_public_key(public_key33);
    return key && verify(*key, message, signature64);
}

bool verify(const secp256k1_pubkey& public_key, ByteView message, ByteView signature64) {
    if (signature64.size() != signature_size) return false;
    // The parse rejects r or s >= n; the verification rejects r or s = 0 and s > n/2 (low-S).
    secp256k1_ecdsa_signature sig;
    if (secp256k1_ecdsa_signature_parse_compact(secp256k1_ctx(), &sig, signature64.data()) != 1) return false;
    auto digest = sha256(message);
    return secp256k1_ecdsa_verify(secp256k1_ctx(), &sig, digest.data(), &public_key) == 1;
}

std::string node_id(ByteView public_key33) {
    return to_hex(sha256(public_key33)).substr(0, node_id_size);
}

}  // namespace warpgate::crypto
