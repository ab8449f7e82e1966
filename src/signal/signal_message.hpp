// Signaling messages (docs/signaling.md): what two nodes say to each other through untrusted
// MQTT brokers before any direct path exists. Pure codecs and checks, no I/O.
//
// A message is an envelope signed by the sender's identity key, sealed (crypto::seal) to the
// recipient's public key, then cut into chunks small enough for any broker:
//
//   envelope: version(1) type(1) sender_pub(33) recipient_id(25) timestamp_ms(8) nonce(16)
//             payload_len(varint) payload  signature(64, over every byte before it)
//   sealed:   crypto::seal(recipient_pub, envelope, aad = "warpgate-signal-v1")
//   chunk:    version(1) message_id(8) index(2) count(2) data(1..chunk_data_size)
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/identity.hpp"

namespace warpgate::signal {

inline constexpr std::uint8_t envelope_version = 1;
inline constexpr std::uint8_t chunk_version = 1;
inline constexpr std::size_t chunk_header_size = 1 + 8 + 2 + 2;
inline constexpr std::size_t chunk_data_size = 8 * 1024;  // well under every public broker's limit
inline constexpr std::size_t max_chunks = 64;             // 512 KiB per message at most
inline constexpr std::size_t max_sealed_size = chunk_data_size * max_chunks;

using Nonce = std::array<std::uint8_t, 16>;
using MessageId = std::array<std::uint8_t, 8>;
using SystemClock = std::chrono::system_clock;

// Message types; the router hands each to the handler registered for it.
enum class SignalType : std::uint8_t {
    text = 1,            // free-form bytes (diagnostics and tests)
    connect_back = 2,    // reverse_connect: "dial me", see traversal/reverse_connect.hpp
    tcp_punch = 3,       // tcp_punch: offer, answer, go, decline; see traversal/tcp_punch.hpp
    udp_punch = 4,       // udp_punch: offer, answer, instant; see traversal/udp_punch_message.hpp
    turn = 5,            // turn: offer, answer, decline; see traversal/turn_plugin.hpp
};

struct SignalMessage {
    SignalType type = SignalType::text;
    Bytes sender;                    // 33-byte compressed public key of the signer
    std::string recipient;           // node id the message is for
    std::uint64_t timestamp_ms = 0;  // sender's clock, ms since the Unix epoch
    Nonce nonce{};
    Bytes payload;
};

std::uint64_t to_unix_ms(SystemClock::time_point t);

// The signed envelope. `signer` signs whatever `message.sender` says (tests forge with that);
// seal_signal() is the honest path.
Bytes encode_envelope(const SignalMessage& message, const crypto::IdentityKey& signer);
// Rejects malformed input and a signature that is not the claimed sender's (Errc::auth_failed).
Result<SignalMessage> decode_envelope(ByteView envelope);

// A fresh message from `sender` to the holder of `recipient_pub`, stamped `now`, random nonce.
Result<Bytes> seal_signal(const crypto::IdentityKey& sender, ByteView recipient_pub, SignalType type, ByteView payload,
                          SystemClock::time_point now);
Result<Bytes> seal_envelope(ByteView recipient_pub, ByteView envelope);
// Opens, verifies the signature, and checks the message is addressed to `me`.
Result<SignalMessage> open_signal(const crypto::IdentityKey& me, ByteView sealed);

// Chunks of one sealed message, each at most chunk_header_size + chunk_data_size bytes.
Result<std::vector<Bytes>> split(ByteView sealed, const MessageId& id);

// Collects chunks until a message is whole. Bounded: at most max_pending partial messages,
// each forgotten `expiry` after its first chunk, the oldest dropped first when full.
class Reassembler {
public:
    static constexpr std::size_t max_pending = 32;
    explicit Reassembler(std::chrono::milliseconds expiry = std::chrono::seconds(30)) : expiry_(expiry) {}
    // The whole message once its last chunk arrives; nullopt while chunks are missing.
    Result<std::optional<Bytes>> add(ByteView chunk, std::chrono::steady_clock::time_point now);
    std::size_t pending() const { return partial_.size(); }

private:
    struct Partial {
        std::chrono::steady_clock::time_point first_seen;
        std::vector<std::optional<Bytes>> parts;
        std::size_t received = 0;
    };
    std::chrono::milliseconds expiry_;
    std::map<MessageId, Partial> partial_;
};

// Freshness: a timestamp within `window` of the local clock either way, and a nonce not seen
// before. Nonces are remembered until their timestamp leaves the window (after that the
// timestamp check rejects a replay), at most max_nonces of them. A nonce is never forgotten
// inside the window: evicting one would let its message be replayed, so when the table is
// full of fresh nonces new messages are refused until the oldest expire. Call it only for
// authenticated messages (after open_signal), so strangers cannot fill it.
class ReplayGuard {
public:
    static constexpr std::size_t max_nonces = 4096;
    explicit ReplayGuard(std::chrono::milliseconds window = std::chrono::seconds(60)) : window_(window) {}
    // Errc::replayed with the reason (stale, from the future, seen nonce), Errc::refused when
    // the table is full; records the nonce when fresh.
    Result<void> check(const SignalMessage& message, SystemClock::time_point now);
    std::size_t remembered() const { return seen_.size(); }

private:
    std::chrono::milliseconds window_;
    std::map<Nonce, std::uint64_t> seen_;  // nonce -> its timestamp (ms)
};

}  // namespace warpgate::signal
