// The node address: a compact, versioned binary encoding of who a node is and where it can be
// reached, shared out of band. docs/node-address.md specifies the wire format.
#pragma once
#include <array>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include <warpgate/nat.hpp>

namespace warpgate {

// One interface x family the node listens on.
struct AddressEntry {
    std::uint32_t if_index = 0;
    asio::ip::address nic_ip;        // the NIC's own address
    std::uint8_t prefix_len = 0;     // the NIC's subnet
    asio::ip::address external_ip;   // as STUN sees it; == nic_ip when unknown or not NATed
    std::uint16_t port = 0;          // listen port (TCP and UDP)
    NatInfo nat;
    // The UDP listen socket's mapping as STUN saw it on that socket; 0 when not measured or
    // equal to port (one address, one encoding: serialize() refuses external_port == port).
    std::uint16_t external_port = 0;
    // Where a peer outside the NAT reaches this entry.
    Endpoint external_endpoint() const { return {external_ip, external_port != 0 ? external_port : port}; }
    friend bool operator==(const AddressEntry&, const AddressEntry&) = default;
};

enum class ServerKind : std::uint8_t { mqtt = 1, turn = 2 };

// A server the node uses, so a peer can meet it there (signaling broker, TURN relay).
struct ServerHint {
    ServerKind kind = ServerKind::mqtt;
    HostPort server;
    friend bool operator==(const ServerHint&, const ServerHint&) = default;
};

enum class OsKind : std::uint8_t { unknown = 0, linux_os = 1, windows = 2, macos = 3, bsd = 4, android = 5 };

struct NodeAddress {
    static constexpr std::uint8_t version = 2;
    static constexpr std::size_t max_entries_per_family = 4;
    static constexpr std::size_t max_hints = 8;
    static constexpr std::size_t max_encoded_size = 2406;  // every list full, every host 253 bytes

    Bytes public_key;                     // compressed secp256k1 point, 33 bytes
    std::array<std::uint8_t, 16> machine_id{};
    std::vector<AddressEntry> v4;         // at most 4
    std::vector<AddressEntry> v6;         // at most 4
    std::vector<ServerHint> hints;        // at most 8
    OsKind os = OsKind::unknown;

    const std::vector<AddressEntry>& entries(Family f) const { return f == IP6 ? v6 : v4; }
    friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

// Binary form. serialize() requires a valid address (limits above); parse() rejects anything
// malformed, truncated, oversized or with trailing bytes, with a message saying what.
Result<Bytes> serialize(const NodeAddress& address);
Result<NodeAddress> parse_address(ByteView bytes);

// Text form for humans: "wg1" + base32 of (binary || 4-byte checksum); typos fail the check.
// to_text throws Exception (Errc::config) when serialize() would fail.
std::string to_text(const NodeAddress& address);
Result<NodeAddress> parse_address_text(std::string_view text);

}  // namespace warpgate
