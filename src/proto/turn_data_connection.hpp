// RFC 6062 §4.4 data connections: a TCP allocation's peer connection reaches the client over
// a TCP connection of its own to the server, joined to the peer connection by a
// ConnectionBind request on it. The server answers on the same connection and from then on
// relays the peer's bytes both ways, raw: the socket returned here is the peer stream.
//
//   client                        TURN server                          peer
//     |=== control connection (Allocate TCP, CreatePermission) ===|
//     |                               |<------- TCP connect --------------|
//     |<--- ConnectionAttempt {id} ---|
//     |=== data connection: ConnectionBind {id} ==>|
//     |<== success =====================|
//     |<== raw peer bytes ============>|<======== raw bytes =============>|
//
// The data connection is plain TCP to the control connection's server address; the
// ConnectionBind is signed with the allocation's credentials, and a 401 or 438 with a fresh
// nonce (the server's nonce may belong to the connection) is answered once with it.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>

#include "proto/turn_client.hpp"

namespace warpgate::turn {

// Connects to the server of `allocation` (a TCP one) and binds the connection to
// `connection_id`, all within the client's connect_timeout. Throws Exception: Errc::timeout,
// Errc::refused (nothing listens, or an error response), Errc::closed (the server closed the
// connection instead of answering: coturn does so for an unknown id),
// Errc::auth_failed (a success response that does not verify), Errc::unsupported for a TLS
// control connection (its data connections would need TLS as well), Errc::cancelled.
asio::awaitable<asio::ip::tcp::socket> bind_data_connection(const Client& allocation, std::uint32_t connection_id);

}  // namespace warpgate::turn
