// SHA-256 and HKDF-SHA256 (RFC 5869), the hash and key derivation every crypto piece shares.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include <warpgate/bytes.hpp>

namespace warpgate::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(ByteView data);

// HKDF-Extract (RFC 5869 §2.2): the pseudorandom key every key of one secret is expanded from.
Sha256Digest hkdf_extract(ByteView salt, ByteView ikm);
// HKDF-Expand (RFC 5869 §2.3) into `out` (at most 255*32 bytes).
void hkdf_expand(const Sha256Digest& prk, std::string_view info, std::span<std::uint8_t> out);
// Extract then expand: one key from one secret.
void hkdf_sha256(ByteView ikm, ByteView salt, std::string_view info, std::span<std::uint8_t> out);

}  // namespace warpgate::crypto
