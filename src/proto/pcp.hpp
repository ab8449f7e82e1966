// PCP codec (RFC 6887, https://www.rfc-editor.org/rfc/rfc6887), MAP opcode: the request
// that creates, renews (same nonce) or deletes (lifetime 0) a mapping, and the response with
// its result code, lifetime, epoch and assigned external endpoint. Options are carried
// through as opaque (code, data) pairs. The epoch rule is natpmp::EpochWatch (§8.5 is the
// same as RFC 6886 §3.6). Pure functions over byte spans; the network side is
// proto/pcp_client.hpp.
#pragma once
#include <array>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::pcp {

inline constexpr std::uint16_t server_port = 5351;
inline constexpr std::uint8_t version = 2;
inline constexpr std::size_t max_message_size = 1100;  // §7

enum class Opcode : std::uint8_t { announce = 0, map = 1, peer = 2 };

// §7.4: result codes.
enum class ResultCode : std::uint8_t {
    success = 0,
    unsupp_version = 1,
    not_authorized = 2,
    malformed_request = 3,
    unsupp_opcode = 4,
    unsupp_option = 5,
    malformed_option = 6,
    network_failure = 7,
    no_resources = 8,
    unsupp_protocol = 9,
    user_ex_quota = 10,
    cannot_provide_external = 11,
    address_mismatch = 12,
    excessive_remote_peers = 13,
};
std::string to_string(ResultCode code);

inline constexpr std::uint8_t protocol_tcp = 6;
inline constexpr std::uint8_t protocol_udp = 17;

using Nonce = std::array<std::uint8_t, 12>;
Nonce random_nonce();  // OpenSSL RAND_bytes

// §7.3: an option, padded on the wire to a multiple of 4 bytes (the length excludes padding).
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |  Option Code  |  Reserved     |       Option Length           |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    :                       (optional) data                         :
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Option {
    std::uint8_t code = 0;
    Bytes data;
    friend bool operator==(const Option&, const Option&) = default;
};

// §11.1: the MAP opcode's body, in requests and responses alike (36 bytes). In a response
// the port and address are the assigned ones.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    |                 Mapping Nonce (96 bits)                       |
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   Protocol    |          Reserved (24 bits)                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |        Internal Port          |    Suggested External Port    |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    |           Suggested External IP Address (128 bits)            |
//    |                                                               |
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Protocol 0 with internal port 0 means every protocol and port (§11.1). Addresses are
// IPv6, IPv4 as IPv4-mapped (::ffff:a.b.c.d, §5); decoding returns IPv4 for those.
struct Map {
    Nonce nonce{};
    std::uint8_t protocol = 0;
    std::uint16_t internal_port = 0;
    std::uint16_t external_port = 0;
    asio::ip::address external_ip = asio::ip::address_v4::any();
    friend bool operator==(const Map&, const Map&) = default;
};

// §7.1: the request header (24 bytes), then the opcode's body and options.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |  Version = 2  |R|   Opcode    |         Reserved              |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                 Requested Lifetime (32 bits)                  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |            PCP Client's IP Address (128 bits)                 |
//    |                                                               |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    :             (optional) opcode-specific information            :
//    :             (optional) PCP Options                            :
//
// R = 0. The client's address is the request's source address (else ADDRESS_MISMATCH).
struct MapRequest {
    std::uint32_t lifetime = 0;  // seconds; 0 deletes
    asio::ip::address client_ip;
    Map map;
    std::vector<Option> options;
    friend bool operator==(const MapRequest&, const MapRequest&) = default;
};
Bytes encode(const MapRequest& request);
// Strict inverse (the fuzz target's round trip): version 2, R = 0, MAP, reserved zero.
Result<MapRequest> decode_map_request(ByteView bytes);

// §7.2: the response header (24 bytes), then the opcode's body and options.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |  Version = 2  |R|   Opcode    |   Reserved    |  Result Code  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                      Lifetime (32 bits)                       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                     Epoch Time (32 bits)                      |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                      Reserved (96 bits)                       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    :             (optional) opcode-specific response data          :
//    :             (optional) Options                                :
//
// R = 1. Lifetime: of the mapping on success, of the error otherwise (how long to wait
// before retrying). Decoding is strict: a multiple of 4 bytes, at most 1100, version 2 (a
// version-0 answer is a NAT-PMP-only server: Errc::unsupported), R set, the MAP opcode, a
// complete body (which an error response may leave out: header only) and well-formed options.
// Reserved fields are not checked (§7.2: ignored on receipt).
struct MapResponse {
    ResultCode result = ResultCode::success;
    std::uint32_t lifetime = 0;
    std::uint32_t epoch = 0;
    bool has_body = true;  // false: a header-only error response
    Map map;
    std::vector<Option> options;
    friend bool operator==(const MapResponse&, const MapResponse&) = default;
};
Bytes encode(const MapResponse& response);
Result<MapResponse> decode_map_response(ByteView bytes);

}  // namespace warpgate::pcp
