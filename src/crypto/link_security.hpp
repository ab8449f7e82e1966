// Securing a pipe: the link handshake (crypto/handshake.hpp) run over the pipe's handshake
// frames, then its messages sealed by a SecureChannel. docs/link-handshake.md.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <warpgate/pipe.hpp>

#include "crypto/handshake.hpp"
#include "crypto/identity.hpp"

namespace warpgate::crypto {

// The dialer's side: one round trip (repeated on UDP within `timeout`). Errc::auth_failed
// when the answer does not come from `expected_peer_pub` (a man in the middle, or another
// node at the dialled address); Errc::timeout when nobody answers. The pipe is closed on
// failure, and seals every message from then on on success.
asio::awaitable<void> secure_as_initiator(Pipe& pipe, const IdentityKey& identity, ByteView expected_peer_pub,
                                          std::chrono::milliseconds timeout);

// The accepting side: answers the dialer's handshake frame once; a repeated hello (UDP
// retransmission) gets the same answer again. Returns false when the pipe must be closed.
class Responder {
public:
    explicit Responder(const IdentityKey& identity) : identity_(identity) {}
    // Sets the pipe's cipher before the answer leaves, so the dialer's first sealed message
    // always finds it.
    bool on_hello(Pipe& pipe, ByteView hello);
    bool done() const { return reply_.has_value(); }

private:
    const IdentityKey& identity_;
    std::optional<Bytes> hello_;
    std::optional<Bytes> reply_;
};

}  // namespace warpgate::crypto
