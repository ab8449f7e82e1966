// The request/response exchange NAT-PMP and PCP share (both talk to the gateway's port 5351
// over UDP): send, wait, retransmit with a doubling interval (RFC 6886 §3.1: 250 ms first;
// RFC 6887 §8.1.1: 3 s first, at most 1024 s apart), until a reply matches or the deadline
// passes. A port-unreachable answer ends it at once: nothing serves there.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::natpmp {

struct Retransmission {
    std::chrono::milliseconds initial;
    std::chrono::milliseconds max;
};
inline constexpr Retransmission natpmp_schedule{std::chrono::milliseconds(250), std::chrono::milliseconds(64'000)};
inline constexpr Retransmission pcp_schedule{std::chrono::milliseconds(3000), std::chrono::milliseconds(1'024'000)};

// A UDP socket connected to the gateway's port 5351 from the address routing picks.
Result<asio::ip::udp::socket> open_gateway_socket(const asio::any_io_executor& executor, const asio::ip::address& gateway);
// Its source address (unspecified when the socket is closed): what the gateway maps to.
asio::ip::address local_address(const asio::ip::udp::socket& socket);

// Sends `request` on `socket` (connected) until `matches` accepts a datagram, which is
// returned. Datagrams it refuses are dropped. Errc::timeout (naming `what`) at the deadline,
// Errc::refused on port unreachable, Errc::cancelled when the caller is cancelled.
asio::awaitable<Result<Bytes>> exchange(asio::ip::udp::socket& socket, ByteView request, Retransmission schedule,
                                        std::chrono::steady_clock::time_point deadline,
                                        std::function<bool(ByteView)> matches, std::string what);

}  // namespace warpgate::natpmp
