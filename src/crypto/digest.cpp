#include "crypto/digest.hpp"

#include <algorithm>
#include <stdexcept>

#include "crypto/openssl.hpp"

namespace warpgate::crypto {
namespace {

constexpr std::size_t block_size = 64;  // SHA-256's

// Fetched once: an implicit fetch (EVP_sha256()) looks the provider up on every digest.
const EVP_MD* sha256_md() {
    static EVP_MD* const md = check_openssl(EVP_MD_fetch(nullptr, "SHA256", nullptr), "fetch SHA-256");
    return md;
}

// SHA-256 of the concatenated parts, on a context the caller reuses.
void digest_into(EVP_MD_CTX* ctx, std::initializer_list<ByteView> parts, std::uint8_t* out) {
    check_openssl(EVP_DigestInit_ex2(ctx, sha256_md(), nullptr), "SHA-256 init");
    for (auto part : parts) check_openssl(EVP_DigestUpdate(ctx, part.data(), part.size()), "SHA-256 update");
    unsigned int size = 0;
    check_openssl(EVP_DigestFinal_ex(ctx, out, &size), "SHA-256 final");
}

// HMAC-SHA256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || message)). Done here over one digest
// context rather than by OpenSSL's HMAC or HKDF objects, whose set-up (a context, a digest
// fetched by name, the key schedule) costs ten times the two hashes: the link handshake
// derives its keys with three of these.
void hmac_sha256(EVP_MD_CTX* ctx, ByteView key, std::initializer_list<ByteView> message, Sha256Digest& out) {
    std::array<std::uint8_t, block_size> pad{};
    if (key.size() > block_size) digest_into(ctx, {key}, pad.data());
    else std::copy(key.begin(), key.end(), pad.begin());
    for (auto& b : pad) b ^= 0x36;
    Sha256Digest inner{};
    check_openssl(EVP_DigestInit_ex2(ctx, sha256_md(), nullptr), "SHA-256 init");
    check_openssl(EVP_DigestUpdate(ctx, pad.data(), pad.size()), "SHA-256 update");
    for (auto part : message) check_openssl(EVP_DigestUpdate(ctx, part.data(), part.size()), "SHA-256 update");
    unsigned int size = 0;
    check_openssl(EVP_DigestFinal_ex(ctx, inner.data(), &size), "SHA-256 final");
    for (auto& b : pad) b ^= 0x36 ^ 0x5c;
    digest_into(ctx, {pad, inner}, out.data());
    OPENSSL_cleanse(pad.data(), pad.size());
    OPENSSL_cleanse(inner.data(), inner.size());
}

MdCtxPtr new_context() { return MdCtxPtr(check_openssl(EVP_MD_CTX_new(), "digest context")); }

}  // namespace

Sha256Digest sha256(ByteView data) {
    Sha256Digest out{};
    unsigned int size = 0;
    check_openssl(EVP_Digest(data.data(), data.size(), out.data(), &size, sha256_md(), nullptr), "SHA-256");
    return out;
}

Sha256Digest hkdf_extract(ByteView salt, ByteView ikm) {
    // An absent salt is HashLen zero bytes (RFC 5869 §2.2): the same HMAC key once padded.
    Sha256Digest prk{};
    hmac_sha256(new_context().get(), salt, {ikm}, prk);
    return prk;
}

void hkdf_expand(const Sha256Digest& prk, std::string_view info, std::span<std::uint8_t> out) {
    if (out.size() > 255 * sizeof(Sha256Digest)) throw std::length_error("HKDF-Expand: more than 255 blocks");
    auto ctx = new_context();
    Sha256Digest block{};
    std::uint8_t counter = 0;
    for (std::size_t at = 0; at < out.size(); at += block.size()) {
        // T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty
        ByteView previous(block.data(), counter == 0 ? 0 : block.size());
        ++counter;
        hmac_sha256(ctx.get(), prk, {previous, as_bytes(info), ByteView(&counter, 1)}, block);
        auto take = std::min(block.size(), out.size() - at);
        std::copy_n(block.begin(), take, out.begin() + static_cast<std::ptrdiff_t>(at));
    }
    OPENSSL_cleanse(block.data(), block.size());
}

void hkdf_sha256(ByteView ikm, ByteView salt, std::string_view info, std::span<std::uint8_t> out) {
    auto prk = hkdf_extract(salt, ikm);
    hkdf_expand(prk, info, out);
    OPENSSL_cleanse(prk.data(), prk.size());
}

}  // namespace warpgate::crypto
