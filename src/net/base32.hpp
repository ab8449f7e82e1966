// Base32 (RFC 4648 section 6 alphabet) without padding, for text forms people copy by hand:
// no 0/1/8/9 to confuse with O/I/B/g, and case does not matter.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::net {

// Lowercase, unpadded.
std::string base32_encode(ByteView data);

// Case-insensitive. Rejects characters outside the alphabet (padding included), lengths no
// encoding produces, and non-zero unused bits in the last character, so each byte string has
// exactly one accepted text (RFC 4648 section 3.5 "canonical encoding"). Error positions count
// from `position_base`, for callers decoding the tail of a longer text.
Result<Bytes> base32_decode(std::string_view text, std::size_t position_base = 0);

// Characters an encoding of n bytes takes.
constexpr std::size_t base32_encoded_size(std::size_t n) { return (n * 8 + 4) / 5; }

}  // namespace warpgate::net
