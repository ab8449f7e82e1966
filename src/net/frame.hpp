// Pipe framing (docs/pipes.md). TCP carries a stream, so each frame has a length prefix:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |              length of type + payload (big endian)            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     type      |  payload ...
//   +-+-+-+-+-+-+-+-+
//
// UDP keeps datagram boundaries, so a datagram is just the type byte and the payload.
// The type byte lets control traffic (liveness pings, connection ids, close, the link
// handshake) travel below the application on the same path, over TCP, UDP or a relay alike.
#pragma once
#include <array>
#include <cstdint>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::net {

enum class FrameType : std::uint8_t {
    data = 0,       // an application message
    ping = 1,       // 8-byte nonce; answered with pong by the pipe itself
    pong = 2,       // the nonce of the ping it answers
    hello = 3,      // connection id of the attempt that made this pipe (CON_ID_MSG)
    close = 4,      // the sender closed the pipe (UDP has no FIN)
    handshake = 5,  // link handshake messages (secure links)
    sealed = 6,     // an application message sealed by the link's AEAD
};
inline constexpr std::uint8_t max_frame_type = 6;

inline constexpr std::size_t tcp_header_size = 5;
inline constexpr std::size_t max_udp_payload = 65507 - 1;  // IPv4 datagram limit less the type byte

std::array<std::uint8_t, tcp_header_size> encode_tcp_header(FrameType type, std::size_t payload_size);

struct FrameHeader {
    FrameType type;
    std::size_t payload_size;
};
// Rejects an unknown type, a zero length and a payload over max_payload.
Result<FrameHeader> decode_tcp_header(ByteView header, std::size_t max_payload);
Result<FrameType> decode_frame_type(std::uint8_t byte);

// Hello payload: version, flags, then the 16-byte connection id. Flag bit 0: a link
// handshake follows (docs/link-handshake.md); without it the dialer asks for a plaintext pipe.
inline constexpr std::uint8_t hello_version = 1;
inline constexpr std::size_t hello_size = 2 + 16;
using ConnectionId = std::array<std::uint8_t, 16>;
struct Hello {
    ConnectionId id{};
    bool secure = true;
    friend bool operator==(const Hello&, const Hello&) = default;
};
Bytes encode_hello(const Hello& hello);
Result<Hello> decode_hello(ByteView payload);

}  // namespace warpgate::net
