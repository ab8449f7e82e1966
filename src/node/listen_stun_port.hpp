// STUN on the node's UDP listen socket itself: the mapping a NAT made for that socket is the
// one peers must reach, so it is measured there (issue 13), not on a throw-away socket. The
// demultiplexer (session/demux.hpp) hands every datagram whose first byte is 0-3 to the port
// of the socket it arrived on.
#pragma once
#include <memory>

#include "proto/stun_port.hpp"
#include "session/path.hpp"

namespace warpgate::node {

class ListenStunPort final : public stun::StunPort {
public:
    explicit ListenStunPort(session::UdpSocketPtr socket);
    asio::any_io_executor executor() const override { return socket_->get_executor(); }
    Endpoint local_endpoint() const override { return local_; }
    asio::awaitable<Result<void>> send_to(ByteView datagram, Endpoint to) override;
    const session::UdpSocketPtr& socket() const { return socket_; }

private:
    session::UdpSocketPtr socket_;
    Endpoint local_;
};

}  // namespace warpgate::node
