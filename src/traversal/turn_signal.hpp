// The turn plugin's signal messages (signal type SignalType::turn, inside the sealed, signed
// signal envelope; docs/signaling.md, docs/turn.md). The initiator offers its relayed
// address, the callee answers with its own (or declines). Over TCP (a TCP relay, RFC 6062)
// the initiator has no allocation: its tcp offer names the address the TURN server sees it
// connect from (the callee's permission is for its IP) and the callee answers with its TCP
// relayed address, which the initiator then connects to. Both name the initiator's
// connection id, so a message of another attempt matches nothing; the envelope's nonce and
// timestamp already refuse replays.
//
//    0         1         2                          18
//   +---------+---------+--------------------------+
//   | version | kind    | connection id (16)       |
//   +---------+---------+--------------------------+
//   offer (1), answer (2), tcp offer (4):
//   | family (1: 4, 6) | relayed IP (4 or 16) | relayed port (u16) |
//     (tcp offer: the initiator's address as its TURN server sees it, not a relayed one)
//   offers only, to the end: | the initiator's node address (1 or more bytes) |
//     (the callee answers over its brokers, and checks that it is the signer's own)
//   decline (3):
//   | reason (1..200 bytes of text, to the end) |
//
// Integers are big-endian. Strict: another version is Errc::unsupported; an unknown kind or
// family, an unspecified or multicast relayed IP, port 0, an empty or long reason, an offer
// without an address, or an answer with bytes left over is Errc::malformed. The encoding is
// canonical (decode then encode gives the same bytes).
#pragma once
#include <string>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

enum class TurnKind : std::uint8_t { offer = 1, answer = 2, decline = 3, tcp_offer = 4 };

struct TurnMessage {
    static constexpr std::uint8_t version = 1;
    static constexpr std::size_t max_reason = 200;

    TurnKind kind = TurnKind::offer;
    ConnectionId con_id{};
    Endpoint relayed;       // offer, answer: the sender's relayed transport address; tcp offer: the
                            // initiator's address as its TURN server sees it
    Bytes caller_address;   // offers: NodeAddress binary form (parsed by the plugin)
    std::string reason;     // decline
};

// Encodes a message (fields of other kinds are ignored; a reason is cut to max_reason bytes,
// "declined" for an empty one).
Bytes encode_turn(const TurnMessage& m);
Result<TurnMessage> decode_turn(ByteView payload);

}  // namespace warpgate::traversal
