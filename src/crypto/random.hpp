// The one way warpgate draws random bytes (nonces, connection ids, message ids, keys). OpenSSL's
// generator can fail (no entropy source, a broken provider): a caller must never go on with an
// unfilled buffer, so a failure throws instead of returning a code that can be ignored.
#pragma once
#include <cstdint>
#include <span>

namespace warpgate::crypto {

// Fills `out` from RAND_bytes; throws Exception(Errc::io) naming the OpenSSL error on failure.
void random_bytes(std::span<std::uint8_t> out);
// The same from RAND_priv_bytes (the separate generator OpenSSL keeps for private keys).
void random_private_bytes(std::span<std::uint8_t> out);

}  // namespace warpgate::crypto
