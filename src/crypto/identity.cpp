#include "crypto/identity.hpp"

#include <openssl/err.h>

#include "crypto/digest.hpp"

namespace warpgate::crypto {
namespace {

constexpr std::size_t half = signature_size / 2;

BignumPtr half_order() {
    BignumPtr half(check_openssl(BN_dup(secp256k1_order()), "bignum"));
    check_openssl(BN_rshift1(half.get(), half.get()), "halve order");
    return half;
}

// s is acceptable in a signature when 1 <= s <= n/2 (the low-S rule of BIP 62).
bool in_low_range(const BIGNUM* value) {
    static const BignumPtr limit = half_order();
    return !BN_is_zero(value) && BN_cmp(value, limit.get()) <= 0;
}

// DER form of (r, s) for OpenSSL's verifier; takes ownership of both numbers.
Bytes der_of(BignumPtr r, BignumPtr s) {
    EcdsaSigPtr sig(check_openssl(ECDSA_SIG_new(), "ECDSA_SIG"));
    check_openssl(ECDSA_SIG_set0(sig.get(), r.get(), s.get()), "ECDSA_SIG_set0");
    r.release();
    s.release();
    int size = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (size <= 0) throw_openssl("DER size");
    Bytes der(static_cast<std::size_t>(size));
    unsigned char* out = der.data();
    if (i2d_ECDSA_SIG(sig.get(), &out) != size) throw_openssl("DER encoding");
    return der;
}

}  // namespace

IdentityKey IdentityKey::generate() { return IdentityKey(KeyPair::generate()); }

Result<IdentityKey> IdentityKey::from_private_bytes(ByteView scalar32) {
    auto pair = KeyPair::from_private_bytes(scalar32);
    if (!pair) return tl::unexpected(pair.error());
    return IdentityKey(std::move(*pair));
}

Bytes IdentityKey::sign(ByteView message) const {
    MdCtxPtr ctx(check_openssl(EVP_MD_CTX_new(), "digest context"));
    check_openssl(EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pair_.pkey(), nullptr),
                  "ECDSA sign init");
    std::size_t der_size = 0;
    check_openssl(EVP_DigestSign(ctx.get(), nullptr, &der_size, message.data(), message.size()), "ECDSA size");
    Bytes der(der_size);
    check_openssl(EVP_DigestSign(ctx.get(), der.data(), &der_size, message.data(), message.size()), "ECDSA sign");

    const unsigned char* in = der.data();
    EcdsaSigPtr sig(check_openssl(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der_size)), "ECDSA DER decode"));
    const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
    BignumPtr s(check_openssl(BN_dup(ECDSA_SIG_get0_s(sig.get())), "bignum"));
    if (!in_low_range(s.get()))
        check_openssl(BN_sub(s.get(), secp256k1_order(), s.get()), "low-S normalisation");

    Bytes out(signature_size);
    if (BN_bn2binpad(r, out.data(), half) != half || BN_bn2binpad(s.get(), out.data() + half, half) != half)
        throw_openssl("signature encoding");
    return out;
}

bool verify(ByteView public_key33, ByteView message, ByteView signature64) {
    if (signature64.size() != signature_size) return false;
    auto key = parse_public_key(public_key33);
    if (!key) return false;
    BignumPtr r(check_openssl(BN_bin2bn(signature64.data(), half, nullptr), "r"));
    BignumPtr s(check_openssl(BN_bin2bn(signature64.data() + half, half, nullptr), "s"));
    if (BN_is_zero(r.get()) || BN_cmp(r.get(), secp256k1_order()) >= 0 || !in_low_range(s.get())) return false;

    Bytes der = der_of(std::move(r), std::move(s));
    MdCtxPtr ctx(check_openssl(EVP_MD_CTX_new(), "digest context"));
    check_openssl(EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key->get(), nullptr),
                  "ECDSA verify init");
    bool ok = EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size()) == 1;
    ERR_clear_error();  // a failed verification queues an error that is not ours to report
    return ok;
}

std::string node_id(ByteView public_key33) {
    return to_hex(sha256(public_key33)).substr(0, node_id_size);
}

}  // namespace warpgate::crypto
