// Bounds-checked reading of binary wire formats, network byte order (RFC 1700).
//
// A read past the end never touches memory: it returns zero (or an empty view) and the reader
// keeps the first failure, with its byte offset. A codec therefore reads a whole structure
// straight through and checks ok() once; its own format checks (enum ranges, reserved bits)
// go through reject() so every error reads "<format>: <what> (at byte N)".
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::net {

class ByteReader {
public:
    // `format` names what is parsed in error messages, e.g. "node address".
    ByteReader(ByteView data, std::string_view format) noexcept : data_(data), format_(format) {}

    // `what` names the field in the truncation message.
    std::uint8_t u8(std::string_view what);
    std::uint16_t u16(std::string_view what);
    std::uint32_t u32(std::string_view what);
    std::uint64_t u64(std::string_view what);
    // Unsigned LEB128 of at most 32 bits; only the shortest form is accepted, so that an
    // encoding is canonical (one value, one byte string).
    std::uint32_t varint32(std::string_view what);
    // Signed: zigzag-mapped, then varint32 (small magnitudes stay one byte either sign).
    std::int32_t zigzag32(std::string_view what);
    // The next n bytes; empty when fewer remain.
    ByteView bytes(std::size_t n, std::string_view what);
    // The next N bytes as an array (zeros when fewer remain).
    template <std::size_t N>
    std::array<std::uint8_t, N> array(std::string_view what) {
        std::array<std::uint8_t, N> out{};
        auto view = bytes(N, what);
        std::copy(view.begin(), view.end(), out.begin());
        return out;
    }

    // Records a format violation found by the codec in the field starting at `offset`.
    // Only the first failure is kept: later calls are no-ops.
    void reject(std::size_t offset, std::string_view message, Errc code = Errc::malformed);
    // Rejects any byte left over after a complete structure.
    void expect_end();

    bool ok() const noexcept { return !error_; }
    const Error& error() const { return *error_; }  // only when !ok()
    std::size_t offset() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return data_.size() - pos_; }

private:
    ByteView take(std::size_t n, std::string_view what);

    ByteView data_;
    std::string_view format_;
    std::size_t pos_ = 0;
    std::optional<Error> error_;
};

}  // namespace warpgate::net
