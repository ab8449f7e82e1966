// udp_punch's signaling messages (signal type SignalType::udp_punch, inside the sealed,
// signed signal envelope of docs/signaling.md, which is what keeps the punch key secret):
//
//   version(1) = 1 | type(1) | punch token(8) | body
//   offer   (1)  key(32) | connection id(16) | mode(1) | candidates | offerer's node address
//   answer  (2)  clock uncertainty(u32 µs) | clock synced(1: 0 or 1) | candidates
//   instant (3)  start(u64: ms since the Unix epoch, the offerer's corrected clock) | window(u32 ms)
//   decline (4)  reason (1 to 200 bytes of text)
//   candidates:  count(1, 1-32) then per candidate: family(1: 4 or 6) | ip(4 or 16) | port(2)
//
// mode: 1 plain punch (both probe each other's candidates from the listen socket); 2 birthday
// with the offerer behind the random symmetric NAT; 3 birthday with the answerer behind it
// (docs/udp-punch.md).
#pragma once
#include <chrono>
#include <string>
#include <vector>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

#include "crypto/aead.hpp"
#include "session/record.hpp"

namespace warpgate::traversal {

enum class PunchMode : std::uint8_t { plain = 1, offerer_hard = 2, answerer_hard = 3 };

struct UdpPunchMessage {
    static constexpr std::uint8_t version = 1;
    static constexpr std::size_t max_candidates = 32;
    enum class Type : std::uint8_t { offer = 1, answer = 2, instant = 3, decline = 4 };
    Type type = Type::offer;
    session::PunchToken token{};
    // offer
    crypto::AeadKey key{};
    std::array<std::uint8_t, 16> con_id{};
    PunchMode mode = PunchMode::plain;
    Bytes offerer_address;  // NodeAddress binary form
    // offer, answer
    std::vector<Endpoint> candidates;
    // answer: the answerer's clock, for the start instant (punch_schedule.hpp)
    std::chrono::microseconds clock_uncertainty{0};
    bool clock_synced = false;
    // instant
    std::uint64_t start_ms = 0;
    std::chrono::milliseconds window{0};
    // decline
    std::string reason;
};

// encode requires 1 to 32 candidates for an offer or an answer and a reason for a decline.
Bytes encode_punch_message(const UdpPunchMessage& m);
Result<UdpPunchMessage> decode_punch_message(ByteView payload);

}  // namespace warpgate::traversal
