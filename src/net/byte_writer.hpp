// Building binary wire formats, network byte order; the counterpart of ByteReader.
#pragma once
#include <cstdint>
#include <warpgate/bytes.hpp>

namespace warpgate::net {

class ByteWriter {
public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v);
    void u32(std::uint32_t v);
    void u64(std::uint64_t v);
    void varint32(std::uint32_t v);  // unsigned LEB128, shortest form
    void zigzag32(std::int32_t v);   // zigzag-mapped, then varint32
    void bytes(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }

    std::size_t size() const noexcept { return out_.size(); }
    Bytes take() && { return std::move(out_); }

private:
    Bytes out_;
};

}  // namespace warpgate::net
