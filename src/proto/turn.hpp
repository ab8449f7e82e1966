// TURN messages (RFC 8656, https://www.rfc-editor.org/rfc/rfc8656) on the STUN codec: the
// requests a client sends (Allocate, Refresh, CreatePermission, ChannelBind), the Send and
// Data indications, the responses it reads, and ChannelData framing (§12.4); and the TCP
// relay's (RFC 6062, https://www.rfc-editor.org/rfc/rfc6062): Connect, ConnectionBind and the
// ConnectionAttempt indication.
// Pure functions over byte spans; every reader rejects malformed input with Errc::malformed.
// Requests are signed with long-term credentials (proto/turn_auth.hpp) when given them.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "proto/stun.hpp"
#include "proto/turn_auth.hpp"

namespace warpgate::turn {

// RFC 8656 §17: the TURN methods, in the STUN method space.
namespace method {
inline constexpr stun::Method allocate = static_cast<stun::Method>(0x003);
inline constexpr stun::Method refresh = static_cast<stun::Method>(0x004);
inline constexpr stun::Method send = static_cast<stun::Method>(0x006);
inline constexpr stun::Method data = static_cast<stun::Method>(0x007);
inline constexpr stun::Method create_permission = static_cast<stun::Method>(0x008);
inline constexpr stun::Method channel_bind = static_cast<stun::Method>(0x009);
// RFC 6062 §6.1: TCP allocations.
inline constexpr stun::Method connect = static_cast<stun::Method>(0x00A);
inline constexpr stun::Method connection_bind = static_cast<stun::Method>(0x00B);
inline constexpr stun::Method connection_attempt = static_cast<stun::Method>(0x00C);
}  // namespace method

// RFC 8656 §18: the TURN attributes.
namespace attr {
inline constexpr std::uint16_t channel_number = 0x000C;
inline constexpr std::uint16_t lifetime = 0x000D;
inline constexpr std::uint16_t xor_peer_address = 0x0012;
inline constexpr std::uint16_t data = 0x0013;
inline constexpr std::uint16_t xor_relayed_address = 0x0016;
inline constexpr std::uint16_t requested_address_family = 0x0017;
inline constexpr std::uint16_t even_port = 0x0018;
inline constexpr std::uint16_t requested_transport = 0x0019;
inline constexpr std::uint16_t dont_fragment = 0x001A;
inline constexpr std::uint16_t reservation_token = 0x0022;
inline constexpr std::uint16_t connection_id = 0x002A;  // RFC 6062 §6.2
inline constexpr std::uint16_t additional_address_family = 0x8000;
inline constexpr std::uint16_t address_error_code = 0x8001;
inline constexpr std::uint16_t icmp = 0x8004;
}  // namespace attr

// RFC 8656 §12: channel numbers 0x4000 through 0x4FFF (0x5000-0x7FFF are reserved).
inline constexpr std::uint16_t first_channel = 0x4000;
inline constexpr std::uint16_t last_channel = 0x4FFF;
constexpr bool valid_channel(std::uint16_t n) { return n >= first_channel && n <= last_channel; }

// RFC 8656 §3.9, §9, §12: how long what a client made lives at the server.
inline constexpr std::chrono::seconds default_lifetime{600};    // allocation
inline constexpr std::chrono::seconds permission_lifetime{300};  // not refreshable beyond
inline constexpr std::chrono::seconds channel_lifetime{600};

// "Allocate", "ChannelBind", ... for messages and logs.
std::string method_name(stun::Method m);

// --- requests ---

// Allocate (RFC 8656 §7.1). REQUESTED-TRANSPORT is UDP (17), or TCP (6) for a TCP relay
// (RFC 6062 §5.1, over a TCP or TLS connection to the server only):
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |    Protocol   |                    RFFU                       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// REQUESTED-ADDRESS-FAMILY (§18.7) and ADDITIONAL-ADDRESS-FAMILY (§18.11) share a layout:
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |     Family    |            Reserved                           |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct AllocateRequest {
    std::optional<std::chrono::seconds> lifetime;  // LIFETIME; absent: the server's default
    Family family = IP4;                           // an IPv6 relayed address: REQUESTED-ADDRESS-FAMILY
    bool also_ipv6 = false;                        // an IPv4 and an IPv6 one: ADDITIONAL-ADDRESS-FAMILY
    warpgate::Transport relay = UDP;               // REQUESTED-TRANSPORT
};

// LIFETIME (§18.2): 32-bit seconds. Refresh (§7.2) with 0 deletes the allocation.
struct RefreshRequest {
    std::chrono::seconds lifetime{0};
};

// CreatePermission (§9): one XOR-PEER-ADDRESS per peer (the port is ignored by the server).
struct CreatePermissionRequest {
    std::vector<Endpoint> peers;
};

// ChannelBind (§11): CHANNEL-NUMBER and XOR-PEER-ADDRESS.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |        Channel Number         |         RFFU = 0              |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct ChannelBindRequest {
    std::uint16_t channel = first_channel;
    Endpoint peer;
};

// RFC 6062 §6.2: CONNECTION-ID, which names one peer connection of a TCP allocation:
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         Connection ID                         |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Connect (§4.3) asks the server to open a TCP connection from the relayed address to the
// peer (XOR-PEER-ADDRESS); its success response carries the connection's CONNECTION-ID.
struct ConnectRequest {
    Endpoint peer;
};
// ConnectionBind (§4.4), sent on a new TCP connection to the server (a data connection): joins
// it to the peer connection CONNECTION-ID; after its success response the data connection
// carries the peer's bytes both ways, raw.
struct ConnectionBindRequest {
    std::uint32_t connection_id = 0;
};

// Each request as a message; signed with `credentials` when given (the first Allocate goes
// unsigned to learn the realm and nonce, RFC 8656 §7.1).
Bytes encode(const stun::TransactionId& id, const AllocateRequest& r, const Credentials* credentials);
Bytes encode(const stun::TransactionId& id, const RefreshRequest& r, const Credentials* credentials);
Bytes encode(const stun::TransactionId& id, const CreatePermissionRequest& r, const Credentials* credentials);
Bytes encode(const stun::TransactionId& id, const ChannelBindRequest& r, const Credentials* credentials);
Bytes encode(const stun::TransactionId& id, const ConnectRequest& r, const Credentials* credentials);
Bytes encode(const stun::TransactionId& id, const ConnectionBindRequest& r, const Credentials* credentials);

// --- indications (never signed, RFC 8656 §10) ---

// Send (§10.1) from the client, Data (§10.2) from the server: XOR-PEER-ADDRESS and DATA.
struct PeerData {
    Endpoint peer;
    ByteView data;  // a view into the decoded buffer
};
Bytes encode_send(const stun::TransactionId& id, const Endpoint& peer, ByteView data);
// A decoded Data indication. Malformed: another method or class, no or a bad
// XOR-PEER-ADDRESS, no DATA, an unknown comprehension-required attribute.
Result<PeerData> read_data_indication(const stun::Message& m);

// ConnectionAttempt (RFC 6062 §4.5) from the server: a peer connected to a TCP relayed
// address (it has a permission); the client accepts by binding a data connection to the id.
struct ConnectionAttempt {
    std::uint32_t connection_id = 0;
    Endpoint peer;
};
Bytes encode_connection_attempt(const stun::TransactionId& id, const ConnectionAttempt& a);
// Malformed: another method or class, no or a bad XOR-PEER-ADDRESS or CONNECTION-ID, an
// unknown comprehension-required attribute.
Result<ConnectionAttempt> read_connection_attempt(const stun::Message& m);

// --- responses ---

// An error response (RFC 8489 §14.8, RFC 8656 §19), with what a 401 or 438 carries for the
// retry (§9.2.5).
struct ErrorResponse {
    int code = 0;
    std::string reason;
    std::optional<std::string> realm;
    std::optional<std::string> nonce;
    Bytes password_algorithms;  // PASSWORD-ALGORITHMS value, empty when absent
};
inline constexpr int unauthenticated = 401;  // RFC 8489 §19
inline constexpr int stale_nonce = 438;
inline constexpr int allocation_mismatch = 437;  // RFC 8656 §19
inline constexpr int address_family_not_supported = 440;  // no relayed address of the family asked for
inline constexpr int allocation_quota_reached = 486;
inline constexpr int insufficient_capacity = 508;
inline constexpr int connection_already_exists = 446;  // RFC 6062 §6.3
inline constexpr int connection_failure = 447;

// Reads an error response of any TURN method. Malformed: not an error response, no or a bad
// ERROR-CODE, REALM or NONCE over 763 bytes.
Result<ErrorResponse> read_error_response(const stun::Message& m);

// A success response to Allocate (§7.3): one or two XOR-RELAYED-ADDRESS (IPv4 first when
// dual), XOR-MAPPED-ADDRESS and LIFETIME.
struct Allocation {
    std::vector<Endpoint> relayed;
    Endpoint mapped;
    std::chrono::seconds lifetime{0};
};
Result<Allocation> read_allocate_success(const stun::Message& m);
// A success response to Connect (RFC 6062 §4.3): its CONNECTION-ID.
Result<std::uint32_t> read_connect_success(const stun::Message& m);
// A success response to Refresh: its LIFETIME.
Result<std::chrono::seconds> read_refresh_success(const stun::Message& m);
// A success response of `expected` with nothing to read (CreatePermission, ChannelBind,
// ConnectionBind).
Result<void> read_empty_success(const stun::Message& m, stun::Method expected);

// --- ChannelData (§12.4) ---
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |         Channel Number        |            Length             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    /                       Application Data                        /
//    /                                                               /
//    |                                                               |
//    |                               +-------------------------------+
//    |                               |
//    +-------------------------------+
//
// The channel number's first byte is 64..79 (0x40..0x4F), which is how a receiver tells
// ChannelData from STUN (0..3) on one socket (RFC 7983). Over TCP and TLS the message is
// padded to a multiple of 4 bytes (§12.5); over UDP padding is optional.
inline constexpr std::size_t channel_header_size = 4;
struct ChannelData {
    std::uint16_t channel = 0;
    ByteView data;  // a view into the decoded buffer
};
Bytes encode_channel_data(std::uint16_t channel, ByteView data, bool stream);
// One whole ChannelData message. Malformed: shorter than 4 bytes, a channel outside
// 0x4000-0x4FFF, a length beyond the input, or more than 3 bytes after the data.
Result<ChannelData> decode_channel_data(ByteView bytes);

// On a stream to the server (TCP, TLS), STUN messages and ChannelData interleave: from the
// first 4 bytes, the whole frame's size (STUN: 20 + length, ChannelData: 4 + length padded).
// Malformed: a first byte that is neither (RFC 8656 §12.5 streams carry nothing else).
inline constexpr std::size_t frame_header_size = 4;
Result<std::size_t> stream_frame_size(ByteView first4);

}  // namespace warpgate::turn
