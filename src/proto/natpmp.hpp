// NAT-PMP codec (RFC 6886, https://www.rfc-editor.org/rfc/rfc6886): the external address
// request, UDP and TCP mapping requests, their responses with result code and epoch, and the
// epoch rule (§3.6) by which a client notices that its gateway lost its mappings (a reboot).
// Pure functions over byte spans; the network side is proto/natpmp_client.hpp.
#pragma once
#include <asio/ip/address_v4.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::natpmp {

// Clients send to the gateway's port 5351 (shared with PCP, RFC 6887 §19.1).
inline constexpr std::uint16_t server_port = 5351;
inline constexpr std::uint8_t version = 0;

enum class Opcode : std::uint8_t { external_address = 0, map_udp = 1, map_tcp = 2 };
// A response's opcode is the request's plus 128 (§3.2).
inline constexpr std::uint8_t response_bit = 128;

// §3.5: result codes.
enum class ResultCode : std::uint16_t {
    success = 0,
    unsupported_version = 1,
    not_authorized = 2,  // refused, e.g. mapping disabled by the user
    network_failure = 3,  // e.g. the NAT has no DHCP lease yet
    out_of_resources = 4,
    unsupported_opcode = 5,
};
std::string to_string(ResultCode code);

// §3.2: external address request, 2 bytes.
//
//     0                   1
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Vers = 0      | OP = 0        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Bytes encode_external_address_request();

// §3.3: mapping request, 12 bytes. A lifetime of 0 with suggested external port 0 deletes
// the mapping of the internal port (§3.4).
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Vers = 0      | OP = x        | Reserved                      |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Internal Port                 | Suggested External Port       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Requested Port Mapping Lifetime in Seconds                    |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct MapRequest {
    bool tcp = false;  // opcode 2; else 1 (UDP)
    std::uint16_t internal_port = 0;
    std::uint16_t suggested_external_port = 0;
    std::uint32_t lifetime = 0;  // seconds; 0 deletes
};
Bytes encode(const MapRequest& request);

// §3.2 external address response, 12 bytes:
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Vers = 0      | OP = 128 + 0  | Result Code (net byte order)  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Seconds Since Start of Epoch (in network byte order)          |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | External IPv4 Address (a.b.c.d)                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// §3.3 mapping response, 16 bytes:
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Vers = 0      | OP = 128 + x  | Result Code                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Seconds Since Start of Epoch                                  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Internal Port                 | Mapped External Port          |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | Port Mapping Lifetime in Seconds                              |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// An error response may stop after the epoch (8 bytes): §3.5's "Unsupported Version" answer
// to a request it cannot read, and what a PCP server sends a NAT-PMP client (RFC 6887 §9).
// Any other length, a version other than 0, a missing response bit or an unknown opcode is
// malformed; nonzero reserved fields cannot occur (the layout has none).
struct Response {
    Opcode opcode = Opcode::external_address;  // of the request answered
    ResultCode result = ResultCode::success;   // any 16-bit value may arrive
    std::uint32_t epoch = 0;                   // seconds since the gateway's mappings began
    bool short_form = false;                   // an 8-byte error response: no fields below
    asio::ip::address_v4 external_ip;          // external address response
    std::uint16_t internal_port = 0;           // mapping responses
    std::uint16_t external_port = 0;
    std::uint32_t lifetime = 0;
    friend bool operator==(const Response&, const Response&) = default;
};
Result<Response> decode_response(ByteView bytes);
// The inverse of decode_response (tests and the fuzz target's round trip).
Bytes encode(const Response& response);

// §3.6: a gateway's epoch advances with its clock. One that moved back, or whose advance and
// ours differ by more than 2 s plus 1/16 of the larger, restarted and lost its mappings. PCP
// has the same rule (RFC 6887 §8.5).
class EpochWatch {
public:
    using Clock = std::chrono::steady_clock;
    // True when `epoch`, received at `now`, says the gateway restarted since the last epoch
    // seen. The first epoch only sets the reference.
    bool lost_state(std::uint32_t epoch, Clock::time_point now);
    bool known() const { return known_; }

private:
    bool known_ = false;
    std::uint32_t epoch_ = 0;
    Clock::time_point at_{};
};

}  // namespace warpgate::natpmp
