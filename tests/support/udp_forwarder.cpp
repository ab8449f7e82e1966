#include "support/udp_forwarder.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace warpgate::test {

namespace {
const auto loopback = asio::ip::make_address("127.0.0.1");
}

UdpForwarder::State::State(asio::io_context& io, Endpoint upstream, DropRule drop)
    : io(io), upstream(upstream.ip, upstream.port), drop(std::move(drop)), front(io, asio::ip::udp::endpoint(loopback, 0)) {}

UdpForwarder::UdpForwarder(asio::io_context& io, Endpoint upstream, DropRule drop)
    : state_(std::make_shared<State>(io, upstream, std::move(drop))) {
    asio::co_spawn(io, from_clients(state_), asio::detached);
}

UdpForwarder::~UdpForwarder() {
    asio::error_code ec;
    state_->front.close(ec);
    for (auto& mapping : state_->back) mapping.second->close(ec);
}

Endpoint UdpForwarder::endpoint() const { return {loopback, state_->front.local_endpoint().port()}; }

asio::awaitable<void> UdpForwarder::from_clients(std::shared_ptr<State> state) {
    std::array<std::uint8_t, 65536> buffer{};
    for (;;) {
        asio::ip::udp::endpoint from;
        asio::error_code ec;
        auto n = co_await state->front.async_receive_from(asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        if (state->drop(Direction::to_upstream)) {
            ++state->dropped;
            continue;
        }
        auto& back = state->back[from];
        if (!back) {
            back = std::make_shared<Socket>(state->io, asio::ip::udp::endpoint(loopback, 0));
            asio::co_spawn(state->io, to_client(state, back, from), asio::detached);
        }
        ++state->forwarded;
        auto socket = back;
        co_await socket->async_send_to(asio::buffer(buffer.data(), n), state->upstream, asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> UdpForwarder::to_client(std::shared_ptr<State> state, std::shared_ptr<Socket> back, asio::ip::udp::endpoint client) {
    std::array<std::uint8_t, 65536> buffer{};
    for (;;) {
        asio::ip::udp::endpoint from;
        asio::error_code ec;
        auto n = co_await back->async_receive_from(asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        if (state->drop(Direction::to_client)) {
            ++state->dropped;
            continue;
        }
        ++state->forwarded;
        co_await state->front.async_send_to(asio::buffer(buffer.data(), n), client, asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace warpgate::test
