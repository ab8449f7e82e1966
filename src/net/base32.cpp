#include "net/base32.hpp"

#include <fmt/format.h>

namespace warpgate::net {
namespace {

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";

int symbol_value(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f ? fmt::format("'{}'", c) : fmt::format("0x{:02x}", u);
}

}  // namespace

std::string base32_encode(ByteView data) {
    std::string out;
    out.reserve(base32_encoded_size(data.size()));
    std::uint32_t buffer = 0;
    int bits = 0;
    for (auto byte : data) {
        buffer = (buffer << 8 | byte) & 0xfff;  // at most 4 + 8 live bits
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(alphabet[(buffer >> bits) & 31]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
    return out;
}

Result<Bytes> base32_decode(std::string_view text, std::size_t position_base) {
    // A final group of 8 characters carries 5 bytes; 1, 3 or 6 leftover characters never
    // come out of an encoder (RFC 4648 section 6, "final quantum").
    const auto tail = text.size() % 8;
    if (tail == 1 || tail == 3 || tail == 6)
        return fail(Errc::malformed, fmt::format("base32: {} characters is not a valid length", text.size()));
    Bytes out;
    out.reserve(text.size() * 5 / 8);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const int v = symbol_value(text[i]);
        if (v < 0)
            return fail(Errc::malformed, fmt::format("base32: bad character {} at position {}", printable(text[i]),
                                                     position_base + i));
        buffer = (buffer << 5 | static_cast<std::uint32_t>(v)) & 0x1fff;  // at most 7 + 5 live bits
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(buffer >> bits));
        }
    }
    if (buffer & ((1u << bits) - 1))
        return fail(Errc::malformed, fmt::format("base32: unused bits set in the last character (position {})",
                                                 position_base + text.size() - 1));
    return out;
}

}  // namespace warpgate::net
