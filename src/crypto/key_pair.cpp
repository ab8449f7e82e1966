#include "crypto/key_pair.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "crypto/random.hpp"

namespace warpgate::crypto {
namespace {

constexpr char curve_name[] = "secp256k1";

PkeyPtr pkey_from_params(const OSSL_PARAM_BLD* builder, int selection) {
    ParamPtr params(check_openssl(OSSL_PARAM_BLD_to_param(const_cast<OSSL_PARAM_BLD*>(builder)), "EC params"));
    PkeyCtxPtr ctx(check_openssl(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), "EC context"));
    check_openssl(EVP_PKEY_fromdata_init(ctx.get()), "EC import init");
    EVP_PKEY* pkey = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) != 1) {
        ERR_clear_error();  // an invalid peer key is the caller's Result, not queued noise
        return nullptr;
    }
    return PkeyPtr(pkey);
}

Bytes compressed_point_of(const BIGNUM* scalar) {
    const EC_GROUP* group = secp256k1_group();
    BnCtxPtr bn_ctx(check_openssl(BN_CTX_secure_new(), "BN context"));
    EcPointPtr point(check_openssl(EC_POINT_new(group), "EC point"));
    check_openssl(EC_POINT_mul(group, point.get(), scalar, nullptr, nullptr, bn_ctx.get()), "scalar multiply");
    Bytes out(public_key_size);
    if (EC_POINT_point2oct(group, point.get(), POINT_CONVERSION_COMPRESSED, out.data(), out.size(),
                           bn_ctx.get()) != out.size())
        throw_openssl("point encoding");
    return out;
}

}  // namespace

const EC_GROUP* secp256k1_group() {
    static const EcGroupPtr group(check_openssl(EC_GROUP_new_by_curve_name(NID_secp256k1), "secp256k1 group"));
    return group.get();
}

const BIGNUM* secp256k1_order() { return EC_GROUP_get0_order(secp256k1_group()); }

KeyPair::KeyPair(std::shared_ptr<EVP_PKEY> pkey, Bytes public_key)
    : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}

KeyPair KeyPair::generate() {
    // Rejection sampling gives a uniform scalar in [1, n-1]; a retry has probability ~2^-128.
    Bytes scalar(scalar_size);
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
    BignumPtr scalar(check_openssl(BN_secure_new(), "bignum"));
    check_openssl(BN_bin2bn(scalar32.data(), static_cast<int>(scalar32.size()), scalar.get()), "scalar decode");
    if (BN_is_zero(scalar.get()) || BN_cmp(scalar.get(), secp256k1_order()) >= 0)
        return fail(Errc::malformed, "secp256k1 private key is zero or not below the group order");
    Bytes public_key = compressed_point_of(scalar.get());

    ParamBldPtr builder(check_openssl(OSSL_PARAM_BLD_new(), "param builder"));
    check_openssl(OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve_name, 0), "group");
    check_openssl(OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()), "private key");
    check_openssl(OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public_key.data(),
                                                   public_key.size()),
                  "public key");
    PkeyPtr pkey = pkey_from_params(builder.get(), EVP_PKEY_KEYPAIR);
    if (!pkey) throw_openssl("import of a valid secp256k1 key pair");
    return KeyPair(std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free), std::move(public_key));
}

Bytes KeyPair::private_bytes() const {
    BIGNUM* raw = nullptr;
    check_openssl(EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw), "read private key");
    BignumPtr scalar(raw);
    Bytes out(scalar_size);
    if (BN_bn2binpad(scalar.get(), out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size()))
        throw_openssl("private key encoding");
    return out;
}

Result<Bytes> KeyPair::agree(ByteView peer_public33) const {
    auto peer = parse_public_key(peer_public33);
    if (!peer) return tl::unexpected(peer.error());
    PkeyCtxPtr ctx(check_openssl(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr), "ECDH context"));
    check_openssl(EVP_PKEY_derive_init(ctx.get()), "ECDH init");
    if (EVP_PKEY_derive_set_peer(ctx.get(), peer->get()) != 1) {
        ERR_clear_error();
        return fail(Errc::malformed, "peer public key rejected for ECDH");
    }
    Bytes secret(shared_secret_size);
    std::size_t size = secret.size();
    check_openssl(EVP_PKEY_derive(ctx.get(), secret.data(), &size), "ECDH");
    if (size != shared_secret_size) throw_openssl("ECDH secret size");
    return secret;
}

Result<PkeyPtr> parse_public_key(ByteView public33) {
    if (public33.size() != public_key_size)
        return fail(Errc::malformed, "a compressed secp256k1 public key is 33 bytes, got " +
                                         std::to_string(public33.size()));
    if (public33[0] != 0x02 && public33[0] != 0x03)
        return fail(Errc::malformed, "public key does not start with a compressed-point prefix (02 or 03)");
    ParamBldPtr builder(check_openssl(OSSL_PARAM_BLD_new(), "param builder"));
    check_openssl(OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve_name, 0), "group");
    check_openssl(OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public33.data(),
                                                   public33.size()),
                  "public key");
    // The import decompresses the point and fails when x has no point on the curve.
    PkeyPtr pkey = pkey_from_params(builder.get(), EVP_PKEY_PUBLIC_KEY);
    if (!pkey) return fail(Errc::malformed, "public key is not a point on secp256k1");
    return pkey;
}

}  // namespace warpgate::crypto
