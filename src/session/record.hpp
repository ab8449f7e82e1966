// Session records: the one wire format of a link on every path (a TCP stream, a UDP 4-tuple,
// later a TURN channel). docs/link-handshake.md has the full specification and test vectors.
//
// The first byte says what a record is. It lies in 0xD1-0xD6, a range RFC 7983 leaves to
// nobody (STUN 0-3, ZRTP 16-19, DTLS 20-63, TURN ChannelData 64-79, QUIC 64-127 by RFC 9443,
// RTP/RTCP 128-191), so one UDP socket serves STUN, TURN and warpgate at once.
//
//   hello    D1 | version | flags | sender id (4) | connection id (16) | handshake hello (164)?
//   reply    D2 | receiver id (4) | sender id (4) | flags | handshake reply (132)?
//   sealed   D3 | receiver id (4) | counter (8) | ciphertext of (kind | body) | tag (16)
//   plain    D4 | receiver id (4) | kind | body                  (encrypt_links=false only)
//   refuse   D5 | receiver id (4) | reason (1-200 bytes of text)
//   punch    D6 | kind | role | punch token (8) | nonce (8) | tag (16)      (hole punching)
//
// flags bit 0: secure (a handshake message follows). Every record after the hello names the
// session it belongs to by the receiver's id, so a datagram from a new address is matched by
// id and must then authenticate; never by address alone. Inside sealed and plain records the
// kind byte tells application data from the session's own control messages, which are
// therefore authenticated like data. Punch records come before any session: they name the
// punch attempt by its token (agreed over sealed signaling) and carry a tag made with that
// attempt's key (traversal/punch_probe.hpp); the demultiplexer routes them by token.
//
// On TCP each record is preceded by its length (u32, big endian); on UDP a datagram is one
// record.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/secure_channel.hpp"

namespace warpgate::session {

enum class RecordType : std::uint8_t { hello = 0xD1, reply = 0xD2, sealed = 0xD3, plain = 0xD4, refuse = 0xD5, punch = 0xD6 };

// What a sealed or plain record carries.
enum class Kind : std::uint8_t {
    data = 0,         // an application message
    ping = 1,         // 8-byte nonce, answered by pong
    pong = 2,         // the nonce of the ping it answers
    close = 3,        // the sender ended the link (reason text, at most 200 bytes)
    confirm = 4,      // initiator: key confirmation (empty); repeated on UDP until acknowledged
    confirm_ack = 5,  // responder: the link is up on its side (empty)
    keepalive = 6,    // keeps NAT mappings and liveness on idle paths (empty)
    ack = 7,          // stream sessions: the next counter the sender expects (u64), so the
                      // peer may forget the records before it (kept to resend on a new path)
    join = 8,         // stream sessions, first record on a new path: the next counter the
                      // sender expects (u64); sealed out of band (crypto/secure_channel.hpp)
};
inline constexpr std::uint8_t max_kind = 8;

using SessionId = std::uint32_t;  // never 0
using ConnectionId = std::array<std::uint8_t, 16>;

inline constexpr std::uint8_t record_version = 1;
inline constexpr std::size_t id_size = 4;
inline constexpr std::size_t sealed_prefix = 1 + id_size;  // type + receiver id, before the channel record
inline constexpr std::size_t max_reason_size = 200;
// The largest record before a session is confirmed (a hello is 187 bytes): what a stranger
// can make a listener buffer.
inline constexpr std::size_t max_introduction_record = 1024;
inline constexpr std::size_t tcp_length_size = 4;

bool is_record(std::uint8_t first_byte) noexcept;

// A hole punching probe, or the confirmation answering one (same nonce). `role` says which
// side sent it, so a probe reflected back at its sender is not taken for the peer's.
using PunchToken = std::array<std::uint8_t, 8>;
inline constexpr std::size_t punch_size = 35;
inline constexpr std::size_t punch_auth_size = 19;  // the bytes the tag covers: type to nonce
struct Punch {
    enum class Kind : std::uint8_t { probe = 1, confirm = 2 };
    enum class Role : std::uint8_t { offerer = 0, answerer = 1 };
    Kind kind = Kind::probe;
    Role role = Role::offerer;
    PunchToken token{};
    std::array<std::uint8_t, 8> nonce{};
    std::array<std::uint8_t, 16> tag{};
    friend bool operator==(const Punch&, const Punch&) = default;
};

struct Hello {
    SessionId sender = 0;
    ConnectionId con_id{};
    bool secure = true;
    Bytes handshake;  // the link handshake's hello when secure, else empty
};

struct Reply {
    SessionId receiver = 0;
    SessionId sender = 0;
    bool secure = true;
    Bytes handshake;  // the link handshake's reply when secure
};

struct Refuse {
    SessionId receiver = 0;
    std::string reason;
};

// The bytes of a record on its way out, allocated without zero-filling: the encoder writes every
// byte, and a 64 KiB message is not cleared first only to be overwritten.
class RecordBuffer {
public:
    explicit RecordBuffer(std::size_t size) : bytes_(std::make_unique_for_overwrite<std::uint8_t[]>(size)), size_(size) {}
    std::uint8_t* data() noexcept { return bytes_.get(); }
    const std::uint8_t* data() const noexcept { return bytes_.get(); }
    std::size_t size() const noexcept { return size_; }
    operator ByteView() const noexcept { return {bytes_.get(), size_}; }
    Bytes to_bytes() const { return Bytes(bytes_.get(), bytes_.get() + size_); }

private:
    std::unique_ptr<std::uint8_t[]> bytes_;
    std::size_t size_;
};

Bytes encode_hello(const Hello& hello);
Bytes encode_reply(const Reply& reply);
Bytes encode_refuse(const Refuse& refuse);
// A plain record of `kind` with `body`, and the header alone (to send gathered with the body).
inline constexpr std::size_t plain_header_size = sealed_prefix + 1;
std::array<std::uint8_t, plain_header_size> plain_header(SessionId receiver, Kind kind) noexcept;
RecordBuffer encode_plain(SessionId receiver, Kind kind, ByteView body);
// A sealed record of `kind` with `body` under `channel`'s next counter (or next out-of-band
// counter), encrypted from `body` straight into the record. Throws as SecureChannel::seal_into.
RecordBuffer encode_sealed(crypto::SecureChannel& channel, SessionId receiver, Kind kind, ByteView body, bool out_of_band = false);
Bytes encode_punch(const Punch& punch);

// Errc::malformed with the field at fault; Errc::unsupported for another version.
Result<Hello> decode_hello(ByteView record);
Result<Reply> decode_reply(ByteView record);
Result<Refuse> decode_refuse(ByteView record);
Result<Punch> decode_punch(ByteView record);
// The token of a punch record of the right size (what the demultiplexer routes by); nullopt
// for anything else.
std::optional<PunchToken> punch_token_of(ByteView record);

// The receiver id of a reply, sealed, plain or refuse record; nullopt for a hello, a punch
// record or junk.
std::optional<SessionId> receiver_of(ByteView record);

// The kind byte and body of a plain record, or of a sealed record's plaintext.
struct Inner {
    Kind kind;
    ByteView body;
};
Result<Inner> decode_inner(ByteView plaintext);
// The same for a kind byte and a body that lie apart (a sealed record opened into the message
// that carries its body).
Result<Inner> decode_inner(std::uint8_t kind, ByteView body);

// Where the body of a sealed or plain record lies: `head` bytes before it (type, receiver id,
// a sealed record's counter, and the kind byte, encrypted in a sealed record) and `tail` after
// it (a sealed record's tag). A stream reader reads a large record's body straight into the
// buffer that becomes the application's message. nullopt for the other types.
struct BodyLayout {
    std::size_t head;
    std::size_t tail;
};
inline constexpr std::size_t max_body_head = sealed_prefix + crypto::SecureChannel::header_size + 1;
std::optional<BodyLayout> body_layout(std::uint8_t type) noexcept;

// The TCP length prefix: Errc::malformed when 0 or over `max_record`.
Result<std::size_t> decode_length(std::span<const std::uint8_t, tcp_length_size> prefix, std::size_t max_record);
std::array<std::uint8_t, tcp_length_size> encode_length(std::size_t record_size);

void put_id(std::uint8_t* out, SessionId id) noexcept;
SessionId get_id(const std::uint8_t* in) noexcept;

}  // namespace warpgate::session
