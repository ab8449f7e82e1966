// How a TURN client reaches its server (RFC 8656 §3.1): UDP, TCP or TLS over TCP. The client
// sees frames (whole STUN messages and ChannelData messages) either way: a stream transport
// cuts the byte stream into frames (turn::stream_frame_size), a UDP transport has one per
// datagram.
//
// A UDP transport here owns its socket. To run the client over the node's listen socket
// instead, a transport would take the datagrams from the server that the demultiplexer
// (session/demux.hpp) routes by their first byte (0-3 STUN, 64-79 ChannelData) and send
// through that socket: the client depends only on this interface.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <warpgate/bytes.hpp>
#include <warpgate/config.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

namespace warpgate::turn {

// The configuration's enum (NodeConfig::turn_servers), named by warpgate::to_string.
using ServerTransport = TurnTransport;

class Transport {
public:
    using FrameSink = std::function<void(ByteView frame)>;
    virtual ~Transport() = default;
    // True for TCP and TLS: no retransmission, ChannelData padded (RFC 8656 §12.5).
    virtual bool reliable() const = 0;
    virtual Endpoint local() const = 0;
    // Sends one frame; frames from concurrent senders do not interleave. Throws Exception
    // (Errc::io, Errc::closed).
    virtual asio::awaitable<void> send(ByteView frame) = 0;
    // Hands every frame the server sends to `sink` until the transport closes or fails, then
    // returns why it ended (Errc::closed when the server closed the stream, Errc::io, or
    // Errc::cancelled after close()).
    virtual asio::awaitable<Error> receive(FrameSink sink) = 0;
    virtual void close() noexcept = 0;
};

struct TlsOptions {
    // Verify the server's certificate against this CA file (PEM); empty: the system's roots.
    std::string ca_file;
    bool verify = true;
    std::string server_name;  // SNI and the name checked; empty: the server's IP
};

// A transport connected to `server` from `local_ip` (any when unset). TCP and TLS connect
// (and handshake) within `timeout`; Errc::refused when nothing listens, Errc::timeout,
// Errc::auth_failed when the certificate does not verify.
asio::awaitable<std::unique_ptr<Transport>> connect_transport(asio::any_io_executor executor, ServerTransport kind,
                                                              Endpoint server, std::optional<asio::ip::address> local_ip,
                                                              const TlsOptions& tls, std::chrono::milliseconds timeout);

}  // namespace warpgate::turn
