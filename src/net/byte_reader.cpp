#include "net/byte_reader.hpp"

#include <fmt/format.h>

namespace warpgate::net {

ByteView ByteReader::take(std::size_t n, std::string_view what) {
    if (!ok()) return {};
    if (remaining() < n) {
        reject(pos_, fmt::format("{} truncated: needs {} bytes, {} left", what, n, remaining()));
        return {};
    }
    auto view = data_.subspan(pos_, n);
    pos_ += n;
    return view;
}

ByteView ByteReader::bytes(std::size_t n, std::string_view what) { return take(n, what); }

std::uint8_t ByteReader::u8(std::string_view what) {
    auto b = take(1, what);
    return b.empty() ? 0 : b[0];
}

std::uint16_t ByteReader::u16(std::string_view what) {
    auto b = take(2, what);
    return b.empty() ? 0 : static_cast<std::uint16_t>(b[0] << 8 | b[1]);
}

std::uint32_t ByteReader::u32(std::string_view what) {
    auto b = take(4, what);
    if (b.empty()) return 0;
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}

std::uint64_t ByteReader::u64(std::string_view what) {
    auto b = take(8, what);
    std::uint64_t v = 0;
    for (auto byte : b) v = v << 8 | byte;
    return v;
}

std::uint32_t ByteReader::varint32(std::string_view what) {
    const auto start = pos_;
    std::uint32_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
        const auto byte = u8(what);
        if (!ok()) return 0;
        // The fifth byte holds bits 28..31 only.
        if (shift == 28 && byte > 0x0f) {
            reject(start, fmt::format("{} does not fit in 32 bits", what));
            return 0;
        }
        value |= std::uint32_t{byte & 0x7fu} << shift;
        if (!(byte & 0x80)) {
            // A zero last byte after the first adds nothing: a longer twin of a shorter form.
            if (byte == 0 && shift > 0) {
                reject(start, fmt::format("{} is not in shortest varint form", what));
                return 0;
            }
            return value;
        }
    }
}

std::int32_t ByteReader::zigzag32(std::string_view what) {
    const auto z = varint32(what);
    return static_cast<std::int32_t>((z >> 1) ^ (0u - (z & 1u)));
}

void ByteReader::reject(std::size_t offset, std::string_view message, Errc code) {
    if (!ok()) return;
    error_ = Error{code, fmt::format("{}: {} (at byte {})", format_, message, offset)};
}

void ByteReader::expect_end() {
    if (ok() && remaining() > 0) reject(pos_, fmt::format("{} trailing byte(s) after the end", remaining()));
}

}  // namespace warpgate::net
