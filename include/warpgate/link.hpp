// A Link is what the user holds: a conversation with one peer, independent of the path under
// it (a session moves between paths without the application noticing). RAII: destroying it
// closes it.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <warpgate/auto_connect.hpp>
#include <warpgate/pipe.hpp>

namespace warpgate {

class Link {
public:
    Link() = default;
    Link(PipePtr pipe, std::string plugin);
    ~Link();
    Link(Link&&) noexcept = default;
    Link& operator=(Link&& other) noexcept;

    asio::awaitable<void> send(ByteView message);
    asio::awaitable<void> send(std::string_view text) { return send(as_bytes(text)); }
    // Throws Errc::timeout, or Errc::closed once the peer ended the link (the end-of-link).
    asio::awaitable<Message> recv(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    void close();

    bool is_open() const { return pipe_ && pipe_->is_open(); }
    explicit operator bool() const { return pipe_ != nullptr; }
    Transport transport() const { return pipe_->transport(); }
    Endpoint remote_endpoint() const { return pipe_->remote_endpoint(); }
    // The plugin that made an outbound link ("direct_connect"); "inbound" for accepted ones.
    const std::string& plugin() const { return plugin_; }
    // The node id the link handshake proved is at the other end; empty on a plaintext link.
    std::string peer_id() const { return pipe_->peer_node_id(); }
    bool encrypted() const { return pipe_->encrypted(); }
    // On a relay now (the link moves to a direct path as soon as one is found).
    bool relayed() const { return pipe_->relayed(); }

private:
    PipePtr pipe_;
    std::string plugin_;
};

}  // namespace warpgate
