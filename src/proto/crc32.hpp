// CRC-32 (ISO 3309 / ITU-T V.42, the one zlib computes): STUN's FINGERPRINT (RFC 8489 §14.7).
#pragma once
#include <cstdint>
#include <warpgate/bytes.hpp>

namespace warpgate::proto {

std::uint32_t crc32(ByteView bytes) noexcept;

}  // namespace warpgate::proto
