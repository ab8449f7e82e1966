// The dialling side of a session's introduction (docs/link-handshake.md):
//
//   initiator                                            responder
//   hello (sender id, connection id, handshake hello) -> verify, answer; nothing delivered yet
//                                                     <- reply (its id, handshake reply) | refuse
//   verify the reply against the dialled key
//   sealed confirm ---------------------------------->   opens: the session is established
//                                                     <- sealed confirm_ack
//   established
//
// On UDP the hello and the confirmation are repeated with backoff (100 ms, doubling, at most
// 1 s apart) until answered, within the handshake budget, so loss and reordering cost time,
// never a half-open link.
#pragma once
#include <asio/awaitable.hpp>
#include <memory>

#include "crypto/identity.hpp"
#include "session/session.hpp"

namespace warpgate::session {

struct Initiation {
    PathPtr path;                                 // freshly dialled, nothing sent on it yet
    const crypto::IdentityKey* identity = nullptr;  // null: ask for a plaintext link
    Bytes expected_peer_key;                      // the key in the address that was dialled
    ConnectionId con_id{};
    PipeOptions pipe;
    SessionSettings settings;
    std::shared_ptr<Demux> demux;  // reads a dialled UDP socket; required for UDP
};

// An established session. Throws Exception: Errc::refused (with the peer's reason),
// Errc::auth_failed (the answer is not from the dialled key), Errc::timeout, Errc::cancelled.
// The path is closed on failure.
asio::awaitable<std::shared_ptr<Session>> initiate(Initiation how);

}  // namespace warpgate::session
