// Authenticated punch records (session record 0xD6, session/record.hpp). Both sides of a hole
// punch share a token and a 32-byte key that only the sealed, signed signaling exchange
// carried, so a stranger who sees the probes can neither forge one nor make a side lock onto
// its own address. The tag is ChaCha20-Poly1305's over an empty plaintext:
//
//   nonce = kind | role | 00 00 | nonce (8)      aad = record[0..19): D6 kind role token nonce
//   tag   = Poly1305 tag (16)
//
// Each probe draws a fresh random 8-byte nonce; its confirmation repeats that nonce under
// another kind, so no (key, nonce) pair is ever used twice. A confirmation counts only from
// the endpoint (and over the socket) its probe went to: the peer's confirmation replayed by
// someone else from their own address locks nothing.
#pragma once
#include <map>
#include <optional>
#include <warpgate/endpoint.hpp>

#include "crypto/aead.hpp"
#include "session/record.hpp"

namespace warpgate::traversal {

struct PunchSecret {
    session::PunchToken token{};
    crypto::AeadKey key{};
    static PunchSecret random();
};

// One side's probes and confirmations. `via` names the local socket (0 for the listen socket;
// the index of a birthday socket).
class PunchAuth {
public:
    static constexpr std::size_t max_remembered = 8192;  // probes whose confirmation we accept

    PunchAuth(const PunchSecret& secret, session::Punch::Role role);
    const session::PunchToken& token() const { return token_; }
    // A probe with a fresh nonce, remembered as sent over `via` to `to`.
    Bytes probe(std::size_t via, const Endpoint& to);
    // The confirmation of the peer's `probe`.
    Bytes confirm(const session::Punch& probe);
    // The record when it decodes, names our token, carries a tag made with our key, comes from
    // the other role and, for a confirmation, answers a probe we sent over `via` to `from`.
    std::optional<session::Punch> open(ByteView record, std::size_t via, const Endpoint& from);

private:
    Bytes make(session::Punch punch);

    session::PunchToken token_;
    session::Punch::Role role_;
    crypto::Aead seal_;
    crypto::Aead open_;
    std::map<std::array<std::uint8_t, 8>, std::pair<std::size_t, Endpoint>> sent_;
};

}  // namespace warpgate::traversal
