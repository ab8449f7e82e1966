#include "crypto/aead.hpp"

#include <openssl/err.h>

#include <stdexcept>

namespace warpgate::crypto {
namespace {

const EVP_CIPHER* chacha20_poly1305() {
    static EVP_CIPHER* const cipher =
        check_openssl(EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr), "fetch ChaCha20-Poly1305");
    return cipher;
}

int length_of(std::size_t size) {
    if (size > static_cast<std::size_t>(INT32_MAX)) throw std::length_error("AEAD message over 2 GiB");
    return static_cast<int>(size);
}

}  // namespace

Aead::Aead(const AeadKey& key, Direction direction)
    : ctx_(check_openssl(EVP_CIPHER_CTX_new(), "cipher context")) {
    int encrypt = direction == Direction::seal ? 1 : 0;
    check_openssl(EVP_CipherInit_ex2(ctx_.get(), chacha20_poly1305(), key.data(), nullptr, encrypt, nullptr),
                  "ChaCha20-Poly1305 key setup");
}

void Aead::start(const AeadNonce& nonce, ByteView aad) {
    check_openssl(EVP_CipherInit_ex2(ctx_.get(), nullptr, nullptr, nonce.data(), -1, nullptr), "AEAD nonce");
    if (aad.empty()) return;
    int size = 0;
    check_openssl(EVP_CipherUpdate(ctx_.get(), nullptr, &size, aad.data(), length_of(aad.size())), "AEAD aad");
}

void Aead::seal(const AeadNonce& nonce, ByteView aad, std::initializer_list<ByteView> plaintext,
               std::span<std::uint8_t> out) {
    std::size_t total = 0;
    for (auto part : plaintext) total += part.size();
    if (out.size() != total + aead_tag_size) throw std::length_error("AEAD seal output size");
    start(nonce, aad);
    std::size_t at = 0;
    for (auto part : plaintext) {
        if (part.empty()) continue;
        int size = 0;
        check_openssl(EVP_CipherUpdate(ctx_.get(), out.data() + at, &size, part.data(), length_of(part.size())),
                      "AEAD encrypt");
        at += static_cast<std::size_t>(size);
    }
    int tail = 0;
    check_openssl(EVP_CipherFinal_ex(ctx_.get(), out.data() + at, &tail), "AEAD encrypt final");
    check_openssl(EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, aead_tag_size, out.data() + total),
                  "AEAD tag");
}

void Aead::decrypt(const std::uint8_t* in, std::span<std::uint8_t> out) {
    if (out.empty()) return;
    int size = 0;
    check_openssl(EVP_CipherUpdate(ctx_.get(), out.data(), &size, in, length_of(out.size())), "AEAD decrypt");
}

bool Aead::tag_matches(ByteView tag) {
    if (tag.size() != aead_tag_size) throw std::length_error("AEAD tag size");
    // OpenSSL takes a non-const tag pointer but only copies from it.
    check_openssl(EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, aead_tag_size, const_cast<std::uint8_t*>(tag.data())),
                  "AEAD set tag");
    // ChaCha20-Poly1305 holds nothing back: the final step only checks the tag.
    std::uint8_t none[1];
    int tail = 0;
    if (EVP_CipherFinal_ex(ctx_.get(), none, &tail) == 1) return true;
    ERR_clear_error();
    return false;
}

bool Aead::open(const AeadNonce& nonce, ByteView aad, ByteView sealed, std::initializer_list<std::span<std::uint8_t>> out) {
    std::size_t body = 0;
    for (auto part : out) body += part.size();
    if (sealed.size() < aead_tag_size || body != sealed.size() - aead_tag_size) throw std::length_error("AEAD open sizes");
    start(nonce, aad);
    std::size_t at = 0;
    for (auto part : out) {
        decrypt(sealed.data() + at, part);
        at += part.size();
    }
    return tag_matches(sealed.subspan(body));
}

bool Aead::open_in_place(const AeadNonce& nonce, ByteView aad, std::initializer_list<std::span<std::uint8_t>> ciphertext, ByteView tag) {
    start(nonce, aad);
    for (auto part : ciphertext) decrypt(part.data(), part);
    return tag_matches(tag);
}

}  // namespace warpgate::crypto
