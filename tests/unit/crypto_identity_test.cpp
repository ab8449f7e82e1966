#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "crypto/identity.hpp"
#include "support/crypto_vectors.hpp"

using namespace warpgate;
using namespace warpgate::crypto;

namespace {

// secp256k1 generator G (SEC 2 §2.4.1) and n/2, the largest low-S value.
constexpr std::string_view generator_even = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
constexpr std::string_view generator_odd = "0379be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
constexpr std::string_view order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
constexpr std::string_view order_minus_one = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
constexpr std::string_view half_order = "7fffffffffffffffffffffffffffffff5d576e73a7a4501ddfe92f46681b20a0";

// ECDSA-SHA256 over "warpgate" by private key 1, made by Python `cryptography`: the low-S
// signature and its high-S twin (same r, s' = n - s).
constexpr std::string_view low_s_signature =
    "cbc82914140078e85f0f68e3885cbed0857b41f18dd9034b6676864d35542f803a3a4e78cb35adc6aefdf91b6019a688d111779509cce"
    "b17611218c4ae321288";
constexpr std::string_view high_s_signature =
    "cbc82914140078e85f0f68e3885cbed0857b41f18dd9034b6676864d35542f80c5c5b18734ca5239510206e49fe65975e99d6551a57bb"
    "5245ec045c822042eb9";

Bytes scalar(unsigned value) {
    Bytes out(32, 0);
    out[31] = static_cast<std::uint8_t>(value);
    return out;
}

}  // namespace

TEST(IdentityKey, KnownScalarsGiveKnownPublicKeys) {
    EXPECT_EQ(to_hex(IdentityKey::from_private_bytes(scalar(1))->public_key()), generator_even);
    EXPECT_EQ(to_hex(IdentityKey::from_private_bytes(scalar(2))->public_key()),
              "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5");
    // (n-1)G = -G: same x, odd y.
    EXPECT_EQ(to_hex(IdentityKey::from_private_bytes(from_hex(order_minus_one))->public_key()), generator_odd);
}

TEST(IdentityKey, RejectsOutOfRangeScalars) {
    for (const Bytes& bad : {scalar(0), from_hex(order), Bytes(32, 0xff), Bytes(31, 1), Bytes(33, 1), Bytes{}}) {
        auto key = IdentityKey::from_private_bytes(bad);
        ASSERT_FALSE(key) << to_hex(bad);
        EXPECT_EQ(key.error().code, Errc::malformed);
    }
}

TEST(IdentityKey, PrivateBytesRoundTrip) {
    IdentityKey key = IdentityKey::generate();
    Bytes secret = key.private_bytes();
    ASSERT_EQ(secret.size(), 32u);
    auto again = IdentityKey::from_private_bytes(secret);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->public_key(), key.public_key());
    EXPECT_EQ(IdentityKey::from_private_bytes(scalar(7))->private_bytes(), scalar(7));
    EXPECT_NE(IdentityKey::generate().public_key(), key.public_key());
}

TEST(IdentityKey, SignaturesVerifyAndAreLowS) {
    IdentityKey key = IdentityKey::generate();
    IdentityKey copy = key;
    for (int i = 0; i < 32; ++i) {
        Bytes message = to_bytes("message " + std::to_string(i));
        Bytes signature = copy.sign(message);
        ASSERT_EQ(signature.size(), 64u);
        EXPECT_TRUE(verify(key.public_key(), message, signature));
        EXPECT_LE(to_hex(ByteView(signature).subspan(32)), half_order);  // same-length hex compares as numbers
    }
}

TEST(IdentityKey, VerifyRejectsWrongKeyMessageOrSignature) {
    IdentityKey key = IdentityKey::generate();
    Bytes message = to_bytes("open the gate");
    Bytes signature = key.sign(message);
    EXPECT_FALSE(verify(IdentityKey::generate().public_key(), message, signature));
    EXPECT_FALSE(verify(key.public_key(), to_bytes("open the gatf"), signature));
    for (std::size_t i = 0; i < signature.size(); i += 7) {
        Bytes tampered = signature;
        tampered[i] ^= 0x01;
        EXPECT_FALSE(verify(key.public_key(), message, tampered)) << "byte " << i;
    }
}

TEST(IdentityKey, VerifyRejectsMalformedInput) {
    Bytes message = to_bytes("warpgate");
    Bytes signature = from_hex(low_s_signature);
    Bytes g = from_hex(generator_even);
    ASSERT_TRUE(verify(g, message, signature));
    Bytes uncompressed = g;
    uncompressed[0] = 0x04;
    Bytes off_curve(33, 0);  // no secp256k1 point has x = 0
    off_curve[0] = 0x02;
    Bytes x_over_p(33, 0xff);  // x >= the field prime
    x_over_p[0] = 0x02;
    for (const Bytes& key : {Bytes{}, Bytes(32, 2), uncompressed, off_curve, x_over_p, Bytes(g.begin(), g.end() - 1)})
        EXPECT_FALSE(verify(key, message, signature)) << to_hex(key);
    Bytes r_zero = signature, s_zero = signature;
    std::fill(r_zero.begin(), r_zero.begin() + 32, 0);
    std::fill(s_zero.begin() + 32, s_zero.end(), 0);
    for (const Bytes& sig : {Bytes{}, Bytes(63, 1), Bytes(65, 1), r_zero, s_zero, Bytes(64, 0xff)})
        EXPECT_FALSE(verify(g, message, sig)) << to_hex(sig);
}

TEST(IdentityKey, VerifiesAnIndependentSignatureButNotItsHighSTwin) {
    EXPECT_TRUE(verify(from_hex(generator_even), to_bytes("warpgate"), from_hex(low_s_signature)));
    EXPECT_FALSE(verify(from_hex(generator_even), to_bytes("warpgate"), from_hex(high_s_signature)));
}

// OpenSSL's ECDSA verifier (what earlier builds of warpgate used) over a signature of ours:
// libsecp256k1 signs the same ECDSA-SHA256 that every other implementation checks.
bool openssl_verifies(ByteView public33, ByteView message, ByteView signature64) {
    OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "secp256k1", 0);
    OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, public33.data(), public33.size());
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
    EVP_PKEY_CTX* import = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* pkey = nullptr;
    EVP_PKEY_fromdata_init(import);
    EVP_PKEY_fromdata(import, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(signature64.data(), 32, nullptr), BN_bin2bn(signature64.data() + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int der_size = i2d_ECDSA_SIG(sig, &der);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok = pkey && EVP_DigestVerifyInit_ex(md, nullptr, "SHA256", nullptr, nullptr, pkey, nullptr) == 1 &&
              EVP_DigestVerify(md, der, static_cast<std::size_t>(der_size), message.data(), message.size()) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(import);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(builder);
    return ok;
}

TEST(IdentityKey, SignaturesVerifyUnderOpenSsl) {
    IdentityKey key = IdentityKey::generate();
    for (int i = 0; i < 16; ++i) {
        Bytes message = to_bytes("interop " + std::to_string(i));
        Bytes signature = key.sign(message);
        EXPECT_TRUE(openssl_verifies(key.public_key(), message, signature)) << i;
        message[0] ^= 1;
        EXPECT_FALSE(openssl_verifies(key.public_key(), message, signature)) << i;
    }
}

TEST(NodeId, IsThePrefixOfTheSha256OfTheCompressedKey) {
    // sha256(G compressed) computed with Python hashlib.
    EXPECT_EQ(node_id(from_hex(generator_even)), "0f715baf5d4c2ed329785cef2");
    auto responder = IdentityKey::from_private_bytes(test::vectors::scalar_of(test::vectors::responder_identity));
    EXPECT_EQ(node_id(responder->public_key()), test::vectors::responder_node_id);
    EXPECT_EQ(node_id(IdentityKey::generate().public_key()).size(), 25u);
}
