#include "net/byte_writer.hpp"

namespace warpgate::net {

void ByteWriter::u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
}

void ByteWriter::u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
}

void ByteWriter::u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
}

void ByteWriter::varint32(std::uint32_t v) {
    while (v >= 0x80) {
        u8(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    u8(static_cast<std::uint8_t>(v));
}

void ByteWriter::zigzag32(std::int32_t v) {
    // Maps 0, -1, 1, -2, ... to 0, 1, 2, 3, ... (arithmetic shift is defined since C++20).
    varint32(static_cast<std::uint32_t>(v) << 1 ^ static_cast<std::uint32_t>(v >> 31));
}

}  // namespace warpgate::net
