#include "proto/turn_auth.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/openssl.hpp"
#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::turn {

namespace {

constexpr std::size_t sha1_size = 20;
constexpr std::size_t sha256_size = 32;
constexpr std::size_t min_sha256_size = 16;  // RFC 8489 §14.6: truncation floor

constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

const EVP_MD* digest_of(std::uint16_t integrity_type) {
    return integrity_type == stun::attr::message_integrity ? EVP_sha1() : EVP_sha256();
}

Bytes hmac(const EVP_MD* md, ByteView key, ByteView data) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int size = 0;
    crypto::check_openssl(HMAC(md, key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &size),
                          "HMAC");
    out.resize(size);
    return out;
}

// The HMAC input of RFC 8489 §14.5: the message up to the integrity attribute, its length
// field rewritten to end right after that attribute.
Bytes integrity_input(ByteView message_prefix, std::size_t attribute_size) {
    Bytes input(message_prefix.begin(), message_prefix.end());
    auto length = static_cast<std::uint16_t>(input.size() - stun::header_size + attribute_size);
    input[2] = static_cast<std::uint8_t>(length >> 8);
    input[3] = static_cast<std::uint8_t>(length & 0xFF);
    return input;
}

void add_text(stun::MessageWriter& w, std::uint16_t type, std::string_view text) { w.add(type, as_bytes(text)); }

}  // namespace

Bytes long_term_key(std::string_view username, std::string_view realm, std::string_view password, PasswordAlgorithm algorithm) {
    auto input = fmt::format("{}:{}:{}", username, realm, password);
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int size = 0;
    const EVP_MD* md = algorithm == PasswordAlgorithm::md5 ? EVP_md5() : EVP_sha256();
    crypto::check_openssl(EVP_Digest(input.data(), input.size(), out.data(), &size, md, nullptr), "long-term key digest");
    out.resize(size);
    return out;
}

Result<std::vector<std::uint16_t>> read_password_algorithms(const stun::Attribute& a) {
    net::ByteReader r(a.value, "PASSWORD-ALGORITHMS");
    std::vector<std::uint16_t> algorithms;
    while (r.ok() && r.remaining() > 0) {
        auto algorithm = r.u16("algorithm");
        std::size_t length = r.u16("parameters length");
        r.bytes(padded(length), "parameters");
        if (r.ok()) algorithms.push_back(algorithm);
    }
    if (!r.ok()) return tl::unexpected(r.error());
    if (algorithms.empty()) return fail(Errc::malformed, "PASSWORD-ALGORITHMS lists no algorithm");
    return algorithms;
}

Bytes sign(stun::MessageWriter w, const Credentials& c) {
    add_text(w, stun::attr::username, c.username);
    add_text(w, stun::attr::realm, c.realm);
    add_text(w, stun::attr::nonce, c.nonce);
    if (c.password_algorithms.empty()) return append_integrity(w.finish(false), stun::attr::message_integrity, c.key);
    w.add(stun::attr::password_algorithms, c.password_algorithms);
    net::ByteWriter chosen;
    chosen.u16(static_cast<std::uint16_t>(c.algorithm));
    chosen.u16(0);  // no parameters
    w.add(stun::attr::password_algorithm, std::move(chosen).take());
    return append_integrity(w.finish(false), stun::attr::message_integrity_sha256, c.key);
}

Bytes append_integrity(Bytes message, std::uint16_t type, ByteView key) {
    auto mac = hmac(digest_of(type), key, integrity_input(message, 4 + (type == stun::attr::message_integrity ? sha1_size : sha256_size)));
    net::ByteWriter attribute;
    attribute.u16(type);
    attribute.u16(static_cast<std::uint16_t>(mac.size()));
    attribute.bytes(mac);
    auto tail = std::move(attribute).take();
    auto length = static_cast<std::uint16_t>(message.size() - stun::header_size + tail.size());
    message[2] = static_cast<std::uint8_t>(length >> 8);
    message[3] = static_cast<std::uint8_t>(length & 0xFF);
    message.insert(message.end(), tail.begin(), tail.end());
    return message;
}

Result<void> verify_integrity(ByteView bytes, const stun::Message& m, ByteView key) {
    const stun::Attribute* a = m.find(stun::attr::message_integrity_sha256);
    if (!a) a = m.find(stun::attr::message_integrity);
    if (!a) return fail(Errc::auth_failed, "message carries no MESSAGE-INTEGRITY");
    bool sha1 = a->type == stun::attr::message_integrity;
    auto size = a->value.size();
    if (sha1 ? size != sha1_size : size < min_sha256_size || size > sha256_size || size % 4)
        return fail(Errc::malformed, fmt::format("{} value of {} bytes", sha1 ? "MESSAGE-INTEGRITY" : "MESSAGE-INTEGRITY-SHA256", size));
    // The attribute's header sits 4 bytes before its value, inside `bytes` (decode() keeps views).
    auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
    auto value = reinterpret_cast<std::uintptr_t>(a->value.data());
    if (value < begin + stun::header_size + 4 || value + size > begin + bytes.size())
        return fail(Errc::malformed, "integrity attribute is not inside the message bytes given");
    auto offset = static_cast<std::size_t>(value - begin) - 4;
    auto mac = hmac(digest_of(a->type), key, integrity_input(bytes.first(offset), 4 + padded(size)));
    if (CRYPTO_memcmp(mac.data(), a->value.data(), size) != 0)
        return fail(Errc::auth_failed, "MESSAGE-INTEGRITY does not verify (wrong password or altered message)");
    return {};
}

}  // namespace warpgate::turn
