// RAII handles for the OpenSSL 3 objects the crypto layer uses (digests, AEAD), and the one way
// it reports an OpenSSL failure that no input can cause (allocation, a missing provider).
#pragma once
#include <memory>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace warpgate::crypto {

template <auto Free>
struct OpensslDeleter {
    template <class T>
    void operator()(T* p) const noexcept { Free(p); }
};

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpensslDeleter<EVP_CIPHER_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<EVP_MD_CTX_free>>;

// Throws std::runtime_error naming the failed step and the OpenSSL error queue. Only for
// failures that no caller input can cause; bad input is reported through Result.
[[noreturn]] void throw_openssl(std::string_view step);

// Throws through throw_openssl unless an OpenSSL call returned 1 (success) or a non-null handle.
inline void check_openssl(int rc, std::string_view step) {
    if (rc != 1) throw_openssl(step);
}
template <class T>
T* check_openssl(T* handle, std::string_view step) {
    if (!handle) throw_openssl(step);
    return handle;
}

}  // namespace warpgate::crypto
