#include "crypto/digest.hpp"

#include "crypto/openssl.hpp"

#include <openssl/core_names.h>

namespace warpgate::crypto {

Sha256Digest sha256(ByteView data) {
    Sha256Digest out{};
    unsigned int size = 0;
    check_openssl(EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr), "SHA-256");
    return out;
}

void hkdf_sha256(ByteView ikm, ByteView salt, std::string_view info, std::span<std::uint8_t> out) {
    // Fetched once: the provider lookup costs more than the derivation itself.
    static EVP_KDF* const hkdf = check_openssl(EVP_KDF_fetch(nullptr, "HKDF", nullptr), "fetch HKDF");
    KdfCtxPtr ctx(check_openssl(EVP_KDF_CTX_new(hkdf), "HKDF context"));
    // OSSL_PARAM wants mutable pointers; OpenSSL only reads through them.
    char digest[] = "SHA256";
    auto* key = const_cast<std::uint8_t*>(ikm.data());
    auto* salt_bytes = const_cast<std::uint8_t*>(salt.data());
    auto* info_bytes = const_cast<char*>(info.data());
    OSSL_PARAM params[5];
    OSSL_PARAM* p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key, ikm.size());
    // An absent salt is HashLen zero bytes (RFC 5869 §2.2); OpenSSL rejects an empty one.
    if (!salt.empty()) *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_bytes, salt.size());
    if (!info.empty()) *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_bytes, info.size());
    *p = OSSL_PARAM_construct_end();
    check_openssl(EVP_KDF_derive(ctx.get(), out.data(), out.size(), params), "HKDF-SHA256");
}

}  // namespace warpgate::crypto
