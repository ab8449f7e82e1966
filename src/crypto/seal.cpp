#include "crypto/seal.hpp"

#include <cstring>

#include "crypto/aead.hpp"
#include "crypto/digest.hpp"

namespace warpgate::crypto {
namespace {

constexpr std::size_t header_size = 1 + public_key_size;
constexpr char seal_info[] = "warpgate-seal-v1";

struct BoxKey {
    AeadKey key;
    AeadNonce nonce;
};

BoxKey derive_box_key(ByteView shared, ByteView ephemeral_pub, ByteView recipient_pub) {
    Bytes salt(ephemeral_pub.begin(), ephemeral_pub.end());
    salt.insert(salt.end(), recipient_pub.begin(), recipient_pub.end());
    std::array<std::uint8_t, aead_key_size + aead_nonce_size> okm{};
    hkdf_sha256(shared, salt, seal_info, okm);
    BoxKey out{};
    std::memcpy(out.key.data(), okm.data(), aead_key_size);
    std::memcpy(out.nonce.data(), okm.data() + aead_key_size, aead_nonce_size);
    OPENSSL_cleanse(okm.data(), okm.size());
    return out;
}

Bytes box_aad(ByteView header, ByteView aad) {
    Bytes out(header.begin(), header.end());
    out.insert(out.end(), aad.begin(), aad.end());
    return out;
}

}  // namespace

Result<Bytes> seal(ByteView recipient_pub33, ByteView plaintext, ByteView aad) {
    KeyPair ephemeral = KeyPair::generate();
    auto shared = ephemeral.agree(recipient_pub33);
    if (!shared) return fail(Errc::malformed, "cannot seal to this recipient: " + shared.error().message);
    BoxKey box = derive_box_key(*shared, ephemeral.public_key(), recipient_pub33);

    Bytes out(header_size + plaintext.size() + aead_tag_size);
    out[0] = seal_version;
    std::memcpy(out.data() + 1, ephemeral.public_key().data(), public_key_size);
    Aead(box.key, Aead::Direction::seal)
        .seal(box.nonce, box_aad(ByteView(out).first(header_size), aad), plaintext,
              std::span(out).subspan(header_size));
    OPENSSL_cleanse(&box, sizeof box);
    return out;
}

Result<Bytes> open(const IdentityKey& recipient, ByteView sealed, ByteView aad) {
    if (sealed.size() < seal_overhead)
        return fail(Errc::malformed, "sealed box of " + std::to_string(sealed.size()) +
                                         " bytes is shorter than its " + std::to_string(seal_overhead) +
                                         "-byte overhead");
    if (sealed[0] != seal_version)
        return fail(Errc::unsupported, "sealed box version " + std::to_string(sealed[0]) + " (this build reads " +
                                           std::to_string(seal_version) + ")");
    ByteView ephemeral_pub = sealed.subspan(1, public_key_size);
    auto shared = recipient.agree(ephemeral_pub);
    if (!shared) return fail(Errc::malformed, "sealed box has an invalid ephemeral key: " + shared.error().message);
    BoxKey box = derive_box_key(*shared, ephemeral_pub, recipient.public_key());

    Bytes plaintext(sealed.size() - seal_overhead);
    bool ok = Aead(box.key, Aead::Direction::open)
                  .open(box.nonce, box_aad(sealed.first(header_size), aad), sealed.subspan(header_size), plaintext);
    OPENSSL_cleanse(&box, sizeof box);
    if (!ok)
        return fail(Errc::auth_failed,
                    "sealed box failed authentication (tampered, sealed to another key, or different aad)");
    return plaintext;
}

}  // namespace warpgate::crypto
