#include "proto/pcp_client.hpp"

#include <fmt/format.h>

#include "proto/natpmp_exchange.hpp"

namespace warpgate::pcp {

Result<std::unique_ptr<Client>> Client::open(const asio::any_io_executor& executor, const asio::ip::address& gateway) {
    auto socket = natpmp::open_gateway_socket(executor, gateway);
    if (!socket) return tl::unexpected(socket.error());
    return std::unique_ptr<Client>(new Client(std::move(*socket)));
}

asio::awaitable<Result<MapResponse>> Client::ask(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                                 std::uint32_t lifetime, nat::Deadline deadline) {
    auto key = std::make_pair(transport, internal_port);
    auto nonce = nonces_.find(key);
    if (nonce == nonces_.end()) nonce = nonces_.emplace(key, random_nonce()).first;
    MapRequest request;
    request.lifetime = lifetime;
    request.client_ip = natpmp::local_address(socket_);
    request.map.nonce = nonce->second;
    request.map.protocol = transport == TCP ? protocol_tcp : protocol_udp;
    request.map.internal_port = internal_port;
    request.map.external_port = external_port;
    request.map.external_ip = request.client_ip.is_v6() ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::address_v4::any();
    // §11.4: a response answers this request when nonce, protocol and internal port match.
    // A header-only error answers the request as a whole, and a version-0 answer says the
    // gateway speaks only NAT-PMP: both end the exchange.
    // A std::function local, not a lambda converted inside the co_await expression (GCC 12).
    std::function<bool(ByteView)> matches = [&request](ByteView reply) {
        auto r = decode_map_response(reply);
        if (!r) return r.error().code == Errc::unsupported;
        return !r->has_body || (r->map.nonce == request.map.nonce && r->map.protocol == request.map.protocol &&
                                r->map.internal_port == request.map.internal_port);
    };
    auto what = fmt::format("PCP MAP {} {}", to_string(transport), internal_port);
    auto bytes = encode(request);
    auto reply = co_await natpmp::exchange(socket_, bytes, natpmp::pcp_schedule, deadline, matches, what);
    if (!reply) co_return tl::unexpected(reply.error());
    auto response = decode_map_response(*reply);
    if (!response) co_return tl::unexpected(response.error());
    if (response->result != ResultCode::success)
        co_return fail(Errc::refused, fmt::format("{}: the gateway says {}", what, to_string(response->result)));
    co_return *response;
}

asio::awaitable<Result<nat::Lease>> Client::map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                                std::chrono::seconds lifetime, nat::Deadline deadline) {
    auto response = co_await ask(transport, internal_port, external_port, static_cast<std::uint32_t>(lifetime.count()), deadline);
    if (!response) co_return tl::unexpected(response.error());
    co_return nat::Lease{{response->map.external_ip, response->map.external_port}, std::chrono::seconds(response->lifetime),
                         response->epoch};
}

asio::awaitable<Result<void>> Client::unmap(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                            nat::Deadline deadline) {
    auto response = co_await ask(transport, internal_port, external_port, 0, deadline);
    if (!response) co_return tl::unexpected(response.error());
    nonces_.erase({transport, internal_port});
    co_return Result<void>{};
}

void Client::close() {
    asio::error_code ignored;
    socket_.close(ignored);
}

asio::ip::address Client::internal_ip() const { return natpmp::local_address(socket_); }

}  // namespace warpgate::pcp
