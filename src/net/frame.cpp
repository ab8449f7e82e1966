#include "net/frame.hpp"

#include <string>

namespace warpgate::net {

std::array<std::uint8_t, tcp_header_size> encode_tcp_header(FrameType type, std::size_t payload_size) {
    auto length = static_cast<std::uint32_t>(payload_size + 1);
    return {static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
            static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length),
            static_cast<std::uint8_t>(type)};
}

Result<FrameType> decode_frame_type(std::uint8_t byte) {
    if (byte > max_frame_type) return fail(Errc::malformed, "unknown frame type " + std::to_string(byte));
    return static_cast<FrameType>(byte);
}

Result<FrameHeader> decode_tcp_header(ByteView header, std::size_t max_payload) {
    if (header.size() != tcp_header_size) return fail(Errc::malformed, "frame header must be 5 bytes");
    std::uint32_t length = std::uint32_t(header[0]) << 24 | std::uint32_t(header[1]) << 16 |
                           std::uint32_t(header[2]) << 8 | header[3];
    if (length == 0) return fail(Errc::malformed, "frame length 0 (the type byte is missing)");
    if (length - 1 > max_payload)
        return fail(Errc::malformed, "frame of " + std::to_string(length - 1) + " bytes exceeds the limit of " +
                                         std::to_string(max_payload));
    auto type = decode_frame_type(header[4]);
    if (!type) return tl::unexpected(type.error());
    return FrameHeader{*type, length - 1};
}

Bytes encode_hello(const Hello& hello) {
    Bytes out(hello_size);
    out[0] = hello_version;
    out[1] = hello.secure ? 1 : 0;
    std::copy(hello.id.begin(), hello.id.end(), out.begin() + 2);
    return out;
}

Result<Hello> decode_hello(ByteView payload) {
    if (payload.size() != hello_size)
        return fail(Errc::malformed, "hello must be " + std::to_string(hello_size) + " bytes, got " + std::to_string(payload.size()));
    if (payload[0] != hello_version) return fail(Errc::unsupported, "hello version " + std::to_string(payload[0]));
    if (payload[1] > 1) return fail(Errc::malformed, "unknown hello flags " + std::to_string(payload[1]));
    Hello hello;
    hello.secure = payload[1] == 1;
    std::copy(payload.begin() + 2, payload.end(), hello.id.begin());
    return hello;
}

}  // namespace warpgate::net
