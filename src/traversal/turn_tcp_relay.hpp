// The turn plugin over TCP: a link's stream through one TCP allocation (RFC 6062, TURN
// extensions for TCP allocations) that the callee holds; docs/turn.md.
//
//   initiator                 initiator's TURN server   callee's TURN server        callee
//   Binding over TCP --------------->|
//   (its address as TURN sees it)
//               --tcp offer {con_id, that address, its node address}-->
//                                                       Allocate TCP <------------ allocates
//                                                       CreatePermission <-------- for the IP
//               <--answer {con_id, relayed address R}--
//   TCP connect to R ----------------------------------->| (a peer: permitted)
//                                                       |--ConnectionAttempt {id}->|
//                                                       |<= data connection,       |
//                                                       |   ConnectionBind {id} ===|
//   the stream to R  <=================== raw bytes ====>|<= the data connection ===>|
//   hello, link handshake (end to end; the relay sees sealed records)      accept_path
//
// One allocation: an outbound TCP connection leaves every NAT, so only the callee needs a
// relayed address, and no Connect is needed. Both ends hold a TcpPath that says relayed();
// the callee's holds the allocation (its control connection) and deallocates on close.
#pragma once
#include <asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>
#include <warpgate/config.hpp>
#include <warpgate/plugin.hpp>

#include "traversal/turn_common.hpp"

namespace warpgate::traversal {

// Why a server reached over `transport` gives no TCP relay (empty: it does). RFC 6062 needs a
// TCP control connection; TLS would need TLS data connections, which are not done here.
std::string tcp_relay_unavailable(TurnTransport transport);

// The TCP attempt, aimed at the first server reached over TCP; none, saying why, when no
// server is.
std::vector<Attempt> plan_tcp_relay(const std::vector<TurnServer>& servers, std::string& why_not);

// Initiator: learns its address from the first TURN server reached over TCP, offers, waits
// for the callee's relayed address (answer_timeout) and connects to it (connect_timeout).
// Returns the raw stream; the node introduces on it.
asio::awaitable<Reached> attempt_tcp_relay(PluginContext& ctx, TurnTable& table, const TurnPluginOptions& options,
                                           const NodeAddress& peer, const Attempt& attempt);

// Callee: answers a tcp offer with a TCP allocation permitted for the initiator's IP, binds a
// data connection to the first peer connection from that IP (within connect_timeout) and
// hands it to the node's acceptor. One peer connection per offer; whatever carried no hello
// within hello_timeout is closed and deallocated.
asio::awaitable<void> respond_tcp_relay(PluginContext& ctx, std::shared_ptr<TurnTable> table, TurnPluginOptions options, Bytes sender,
                                        TurnMessage offer);

}  // namespace warpgate::traversal
