// ChaCha20-Poly1305 (RFC 8439 §2.8) bound to one key and one direction. The OpenSSL context is
// set up with the key once and only re-nonced per message: links seal many small records and
// the per-record key setup would otherwise dominate.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include <warpgate/bytes.hpp>

#include "crypto/openssl.hpp"

namespace warpgate::crypto {

inline constexpr std::size_t aead_key_size = 32;
inline constexpr std::size_t aead_nonce_size = 12;
inline constexpr std::size_t aead_tag_size = 16;

using AeadKey = std::array<std::uint8_t, aead_key_size>;
using AeadNonce = std::array<std::uint8_t, aead_nonce_size>;

class Aead {
public:
    enum class Direction { seal, open };
    Aead(const AeadKey& key, Direction direction);

    // Writes ciphertext || tag; out.size() must be plaintext.size() + aead_tag_size.
    void seal(const AeadNonce& nonce, ByteView aad, ByteView plaintext, std::span<std::uint8_t> out) {
        seal(nonce, aad, {plaintext}, out);
    }
    // The same for a plaintext given in parts (a record's kind byte and the caller's message),
    // encrypted straight from where they lie: no copy into one buffer first.
    void seal(const AeadNonce& nonce, ByteView aad, std::initializer_list<ByteView> plaintext,
              std::span<std::uint8_t> out);
    // Reads ciphertext || tag and writes the plaintext (out.size() must be sealed.size() -
    // aead_tag_size). False when the tag does not match; out then holds no usable data.
    bool open(const AeadNonce& nonce, ByteView aad, ByteView sealed, std::span<std::uint8_t> out) {
        return open(nonce, aad, sealed, {out});
    }
    // The same into parts filled in order (a record's kind byte and the application's message:
    // decrypted straight to where it is kept, no copy afterwards). The parts' sizes add up to
    // sealed.size() - aead_tag_size.
    bool open(const AeadNonce& nonce, ByteView aad, ByteView sealed, std::initializer_list<std::span<std::uint8_t>> out);
    // The same for a ciphertext that lies in parts and is decrypted where it lies, its tag apart
    // (a record read from a stream in pieces: its kind byte in the reader's buffer, its body
    // straight in the message it becomes).
    bool open_in_place(const AeadNonce& nonce, ByteView aad, std::initializer_list<std::span<std::uint8_t>> ciphertext, ByteView tag);

private:
    void start(const AeadNonce& nonce, ByteView aad);
    void decrypt(const std::uint8_t* in, std::span<std::uint8_t> out);
    bool tag_matches(ByteView tag);

    CipherCtxPtr ctx_;
};

}  // namespace warpgate::crypto
