// TCP pipes: a connected stream carrying length-prefixed frames (net/frame.hpp).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <optional>
#include <warpgate/pipe.hpp>

namespace warpgate::net {

// Wraps an accepted or connected socket; call start() once handlers are installed.
PipePtr make_tcp_pipe(asio::ip::tcp::socket socket, PipeOptions options);

// Connects from `local_ip` (any when unset) to `remote`. No timeout of its own: callers race
// it (with_timeout), and the socket is closed when the attempt is cancelled.
asio::awaitable<PipePtr> connect_tcp(Endpoint remote, std::optional<asio::ip::address> local_ip, PipeOptions options);

}  // namespace warpgate::net
