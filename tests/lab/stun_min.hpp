// The few bytes of STUN (RFC 8489) the lab's own tools need: a Binding request, a Binding
// success response carrying XOR-MAPPED-ADDRESS, and reading that address back. IPv4 only.
// Deliberately independent of the warpgate library: the lab checks itself, not the library.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <vector>

namespace lab::stun {

constexpr std::uint16_t binding_request = 0x0001;
constexpr std::uint16_t binding_success = 0x0101;
constexpr std::uint16_t attr_mapped_address = 0x0001;
constexpr std::uint16_t attr_xor_mapped_address = 0x0020;
constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::size_t header_size = 20;

using TransactionId = std::array<std::uint8_t, 12>;

inline std::uint16_t read16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

inline void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

inline void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v >> 16));
    put16(out, static_cast<std::uint16_t>(v));
}

inline TransactionId random_transaction_id() {
    std::random_device rd;
    TransactionId id{};
    for (auto& b : id) b = static_cast<std::uint8_t>(rd());
    return id;
}

// RFC 8489 section 5: type, length, magic cookie, transaction id.
inline std::vector<std::uint8_t> header(std::uint16_t type, std::uint16_t length,
                                        const TransactionId& id) {
    std::vector<std::uint8_t> out;
    put16(out, type);
    put16(out, length);
    put32(out, magic_cookie);
    out.insert(out.end(), id.begin(), id.end());
    return out;
}

inline bool is_stun(std::span<const std::uint8_t> msg) {
    return msg.size() >= header_size && (msg[0] & 0xC0) == 0 &&
           read16(msg, 4) == (magic_cookie >> 16) && read16(msg, 6) == (magic_cookie & 0xFFFF);
}

inline TransactionId transaction_id(std::span<const std::uint8_t> msg) {
    TransactionId id{};
    std::memcpy(id.data(), msg.data() + 8, id.size());
    return id;
}

// RFC 8489 section 14.2: XOR-MAPPED-ADDRESS for IPv4 (port and address xored with the cookie).
inline std::vector<std::uint8_t> binding_response(const TransactionId& id, const sockaddr_in& from) {
    auto out = header(binding_success, 12, id);
    put16(out, attr_xor_mapped_address);
    put16(out, 8);
    put16(out, 0x0001); // reserved byte, family IPv4
    put16(out, static_cast<std::uint16_t>(ntohs(from.sin_port) ^ (magic_cookie >> 16)));
    put32(out, ntohl(from.sin_addr.s_addr) ^ magic_cookie);
    return out;
}

// The mapped address in a Binding success response for `id`, if the message is one.
inline std::optional<sockaddr_in> mapped_address(std::span<const std::uint8_t> msg,
                                                 const TransactionId& id) {
    if (!is_stun(msg) || read16(msg, 0) != binding_success || transaction_id(msg) != id)
        return std::nullopt;
    const std::size_t end = std::min(msg.size(), header_size + read16(msg, 2));
    for (std::size_t at = header_size; at + 4 <= end;) {
        const auto type = read16(msg, at);
        const auto len = read16(msg, at + 2);
        const std::size_t value = at + 4;
        if (value + len > end) break;
        if ((type == attr_xor_mapped_address || type == attr_mapped_address) && len >= 8 &&
            msg[value + 1] == 0x01) {
            const bool xored = type == attr_xor_mapped_address;
            std::uint16_t port = read16(msg, value + 2);
            std::uint32_t addr = static_cast<std::uint32_t>(read16(msg, value + 4)) << 16 |
                                 read16(msg, value + 6);
            if (xored) {
                port ^= magic_cookie >> 16;
                addr ^= magic_cookie;
            }
            sockaddr_in out{};
            out.sin_family = AF_INET;
            out.sin_port = htons(port);
            out.sin_addr.s_addr = htonl(addr);
            return out;
        }
        at = value + ((len + 3u) & ~3u); // attributes are padded to 4 bytes
    }
    return std::nullopt;
}

} // namespace lab::stun
