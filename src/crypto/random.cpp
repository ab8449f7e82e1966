#include "crypto/random.hpp"

#include <climits>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <string>
#include <warpgate/error.hpp>

namespace warpgate::crypto {
namespace {

using Generator = int (*)(unsigned char*, int);

void fill(Generator generate, const char* name, std::span<std::uint8_t> out) {
    // RAND_bytes takes an int: larger buffers are filled in pieces.
    while (!out.empty()) {
        auto piece = out.first(std::min<std::size_t>(out.size(), INT_MAX));
        if (generate(piece.data(), static_cast<int>(piece.size())) != 1) {
            char reason[256] = "no OpenSSL error queued";
            if (auto e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
            ERR_clear_error();
            throw Exception(Errc::io, std::string("OpenSSL ") + name + " failed to produce random bytes: " + reason);
        }
        out = out.subspan(piece.size());
    }
}

}  // namespace

void random_bytes(std::span<std::uint8_t> out) { fill(RAND_bytes, "RAND_bytes", out); }

void random_private_bytes(std::span<std::uint8_t> out) { fill(RAND_priv_bytes, "RAND_priv_bytes", out); }

}  // namespace warpgate::crypto
