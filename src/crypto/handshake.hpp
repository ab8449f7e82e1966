// The link handshake (issue 7): one round trip that authenticates both nodes by their identity
// keys and agrees per-direction ChaCha20-Poly1305 keys. Pure message codecs; the transport
// carries the bytes. Full specification with byte diagrams and test vectors:
// docs/link-handshake.md.
//
//   initiator                                         responder
//   hello  = v, 1, e_i, s_i, nonce, sig_i  ------->   verify sig_i
//                                          <-------   reply = v, 2, e_r, s_r, sig_r
//   verify sig_r, s_r == dialled key                  keys
//   keys, first record  ------------------------->    first record opens = initiator proved it
//                                                     holds e_i (key confirmation)
//
// The responder must not treat the initiator as connected until the first record from it
// opens: a replayed hello gets a reply, but the replayer cannot derive the keys.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <utility>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/aead.hpp"
#include "crypto/digest.hpp"
#include "crypto/identity.hpp"

namespace warpgate::crypto {

inline constexpr std::uint8_t handshake_version = 0x01;
inline constexpr std::size_t hello_nonce_size = 32;
inline constexpr std::size_t hello_size = 2 + 2 * public_key_size + hello_nonce_size + signature_size;  // 164
inline constexpr std::size_t reply_size = 2 + 2 * public_key_size + signature_size;                     // 132

using HelloNonce = std::array<std::uint8_t, hello_nonce_size>;

// What a completed handshake gives one side.
struct Keys {
    Bytes peer_public_key;   // the peer's verified identity key (33 bytes)
    std::string peer_node_id;
    AeadKey send_key;        // this side -> peer
    AeadKey receive_key;     // peer -> this side
    Sha256Digest transcript_hash;  // equal on both sides; usable as a channel binding
};

class Handshake {
public:
    // The side that dialled: expected_peer_pub is the identity key from the dialled address.
    static Handshake initiator(const IdentityKey& identity, ByteView expected_peer_pub);
    // The side that accepted the pipe.
    static Handshake responder(const IdentityKey& identity);

    // Deterministic variants that reproduce the test vectors in docs/link-handshake.md. Reusing
    // an ephemeral key or nonce across links breaks forward secrecy: tests only.
    static Handshake initiator(const IdentityKey& identity, ByteView expected_peer_pub, KeyPair ephemeral,
                               const HelloNonce& nonce);
    static Handshake responder(const IdentityKey& identity, KeyPair ephemeral);

    // Initiator: the first message (the same bytes on every call).
    const Bytes& hello() const { return hello_; }
    // Initiator: checks the reply. Errc::malformed (size, type, keys), Errc::unsupported
    // (version), Errc::auth_failed (bad signature, or the responder is not the dialled node).
    Result<Keys> on_reply(ByteView reply) const;
    // Responder: checks a hello and answers it. Errc::malformed / unsupported / auth_failed as
    // above. Each call uses a fresh ephemeral key (unless built with a fixed one).
    Result<std::pair<Bytes, Keys>> on_hello(ByteView hello) const;

private:
    enum class Role { initiator, responder };
    Handshake(Role role, IdentityKey identity, std::optional<KeyPair> ephemeral);

    Role role_;
    IdentityKey identity_;
    std::optional<KeyPair> ephemeral_;  // initiator: its key; responder: only when fixed
    Bytes expected_peer_;               // initiator only
    Bytes hello_;                       // initiator only
};

}  // namespace warpgate::crypto
