// tcp_punch's signal messages (signal type SignalType::tcp_punch, inside the sealed, signed
// signal envelope; docs/signaling.md). The initiator offers its predicted ports, the
// responder answers with its own (or declines), the initiator sends the start instant (go) or
// calls the punch off (decline). Every message names the initiator's connection id and nonce,
// so a message of another punch, or a replayed old one, matches nothing.
//
//    0         1         2                          18                 26
//   +---------+---------+--------------------------+------------------+
//   | version | kind    | connection id (16)       | nonce (8)        |
//   +---------+---------+--------------------------+------------------+
//   offer (1), answer (2):
//   | family (1: 4, 6) | external IP (4 or 16) | clock flags (1: bit 0 synced)
//   | clock uncertainty, µs (u32) | port count (1: 1..8) | ports (count x u16, none 0) |
//   offer only, to the end: | the initiator's node address (1 or more bytes) |
//     (the responder answers over its brokers, and checks that it is the signer's own)
//   go (3):
//   | start, µs since the Unix epoch, corrected (u32 high, u32 low) | window, ms (u32) |
//   decline (4):
//   | reason (1..200 bytes of text, to the end) |
//
// Integers are big-endian. Strict: another version is Errc::unsupported; an unknown kind or
// family, a flag bit other than bit 0, a port 0, a count outside 1..8, an empty or long reason,
// an offer without an address or an answer with bytes left over is Errc::malformed. The encoding is canonical (decode then encode
// gives the same bytes).
#pragma once
#include <array>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>
#include <warpgate/plugin.hpp>

#include "traversal/punch_schedule.hpp"

namespace warpgate::traversal {

enum class PunchKind : std::uint8_t { offer = 1, answer = 2, go = 3, decline = 4 };

using PunchNonce = std::array<std::uint8_t, 8>;

struct PunchMessage {
    static constexpr std::uint8_t version = 1;
    static constexpr std::size_t max_ports = 8;
    static constexpr std::size_t max_reason = 200;

    PunchKind kind = PunchKind::offer;
    ConnectionId con_id{};
    PunchNonce nonce{};
    // offer, answer: where the sender's next flows leave its NAT, and its clock.
    asio::ip::address ip;
    std::vector<std::uint16_t> ports;
    PeerClock clock;
    Bytes caller_address;  // offer: NodeAddress binary form (parsed by the plugin)
    // go
    std::chrono::system_clock::time_point start;
    std::chrono::milliseconds window{0};
    // decline
    std::string reason;
};

// Encodes a message (fields of other kinds are ignored; limits are clamped: at most max_ports
// ports, max_reason bytes of reason, "declined" for an empty one).
Bytes encode_punch(const PunchMessage& m);
Result<PunchMessage> decode_punch(ByteView payload);

}  // namespace warpgate::traversal
