// UDP pipes: one association with one remote endpoint, a frame per datagram.
// A client pipe owns a connected socket; a server pipe shares the node's UDP server socket
// and is fed by the server's demultiplexer (net/servers.hpp).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <functional>
#include <optional>
#include <warpgate/pipe.hpp>

namespace warpgate::net {

asio::awaitable<PipePtr> connect_udp(Endpoint remote, std::optional<asio::ip::address> local_ip, PipeOptions options);

// A pipe over a shared server socket. `forget` runs once when the pipe closes, so the server
// drops it from its table. feed() hands it one received datagram (dropped when its queue is full).
class UdpServerPipe;
std::shared_ptr<UdpServerPipe> make_udp_server_pipe(std::shared_ptr<asio::ip::udp::socket> socket, Endpoint remote,
                                                    PipeOptions options, std::function<void()> forget);
void feed(UdpServerPipe& pipe, Bytes datagram);
PipePtr as_pipe(std::shared_ptr<UdpServerPipe> pipe);

}  // namespace warpgate::net
