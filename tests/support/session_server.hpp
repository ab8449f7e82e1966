// A session-layer listener for tests, without a Node: TCP and UDP on one loopback port, the
// hardened acceptor, and an identity of its own. Established links echo every message unless
// the test takes them (on_link). close() ends everything it made, so run_async returns.
#pragma once
#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "crypto/identity.hpp"
#include "net/servers.hpp"
#include "session/acceptor.hpp"
#include "session/introduction.hpp"

namespace warpgate::test {

struct SessionServerOptions {
    Family family = IP4;
    bool echo = true;
    bool require_encryption = true;
    PipeOptions pipe;
    session::SessionSettings settings;
    std::size_t max_half_open = 1024;
    std::size_t max_half_open_per_ip = 32;
    std::size_t max_pending_tcp = 512;
    std::size_t max_pending_tcp_per_ip = 16;
};

class SessionServer {
public:
    SessionServer(asio::io_context& io, SessionServerOptions options = {});
    ~SessionServer();
    Endpoint endpoint() const { return tcp_->local_endpoint(); }
    const Bytes& public_key() const { return identity_.public_key(); }
    const std::vector<PipePtr>& links() const { return links_; }
    // Established links go here instead of the echo.
    void on_link(std::function<void(const PipePtr&)> handler) { on_link_ = std::move(handler); }
    session::Acceptor& acceptor() { return *acceptor_; }
    session::Demux& demux() { return *demux_; }
    void close();

private:
    asio::io_context& io_;
    SessionServerOptions options_;
    crypto::IdentityKey identity_;
    std::shared_ptr<session::Demux> demux_;
    std::shared_ptr<session::Acceptor> acceptor_;
    std::unique_ptr<net::TcpServer> tcp_;
    std::unique_ptr<net::UdpServer> udp_;
    std::vector<PipePtr> links_;
    std::function<void(const PipePtr&)> on_link_;
};

// Dials `server` and runs the introduction as a node would: secure against `server_key`, or
// plaintext when `server_key` is empty. `demux` reads a UDP socket (one per test is enough).
asio::awaitable<PipePtr> dial_session(Transport transport, Endpoint server, const Bytes& server_key,
                                      std::shared_ptr<session::Demux> demux, session::SessionSettings settings = {},
                                      const crypto::IdentityKey* identity = nullptr);

}  // namespace warpgate::test
