#include "node/listen_stun_port.hpp"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace warpgate::node {

ListenStunPort::ListenStunPort(session::UdpSocketPtr socket)
    : socket_(std::move(socket)), local_{socket_->local_endpoint().address(), socket_->local_endpoint().port()} {}

asio::awaitable<Result<void>> ListenStunPort::send_to(ByteView datagram, Endpoint to) {
    asio::error_code ec;
    co_await socket_->async_send_to(asio::buffer(datagram.data(), datagram.size()), asio::ip::udp::endpoint(to.ip, to.port),
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return fail(Errc::cancelled, "STUN send cancelled");
    // An ICMP error from an earlier datagram may surface here: UDP goes on.
    if (ec && ec != asio::error::connection_refused) co_return fail(Errc::io, "sending to " + to.to_string() + ": " + ec.message());
    co_return Result<void>{};
}

}  // namespace warpgate::node
