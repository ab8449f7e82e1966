#include "proto/natpmp_client.hpp"

#include <fmt/format.h>

#include "proto/natpmp_exchange.hpp"

namespace warpgate::natpmp {

Result<std::unique_ptr<Client>> Client::open(const asio::any_io_executor& executor, asio::ip::address_v4 gateway) {
    auto socket = open_gateway_socket(executor, gateway);
    if (!socket) return tl::unexpected(socket.error());
    return std::unique_ptr<Client>(new Client(std::move(*socket)));
}

asio::awaitable<Result<Response>> Client::ask(ByteView request, Opcode opcode, nat::Deadline deadline) {
    // A reply answers this request when it decodes with our opcode (§3.1: one outstanding
    // request at a time, so nothing else can be matched against).
    // A std::function local, not a lambda converted inside the co_await expression (GCC 12).
    std::function<bool(ByteView)> matches = [opcode](ByteView reply) {
        auto r = decode_response(reply);
        return r && r->opcode == opcode;
    };
    auto what = fmt::format("NAT-PMP {}", opcode == Opcode::external_address ? "external address" : "mapping");
    auto reply = co_await exchange(socket_, request, natpmp_schedule, deadline, matches, what);
    if (!reply) co_return tl::unexpected(reply.error());
    auto response = decode_response(*reply);
    if (response->result != ResultCode::success)
        co_return fail(Errc::refused, fmt::format("{}: the gateway says {}", what, to_string(response->result)));
    co_return *response;
}

asio::awaitable<Result<Response>> Client::external_address(nat::Deadline deadline) {
    auto request = encode_external_address_request();
    auto response = co_await ask(request, Opcode::external_address, deadline);
    if (response) external_ip_ = response->external_ip;
    co_return response;
}

asio::awaitable<Result<nat::Lease>> Client::map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                                std::chrono::seconds lifetime, nat::Deadline deadline) {
    if (!external_ip_) {
        auto address = co_await external_address(deadline);
        if (!address) co_return tl::unexpected(address.error());
    }
    auto request = encode(MapRequest{transport == TCP, internal_port, external_port, static_cast<std::uint32_t>(lifetime.count())});
    auto response = co_await ask(request, transport == TCP ? Opcode::map_tcp : Opcode::map_udp, deadline);
    if (!response) co_return tl::unexpected(response.error());
    if (response->internal_port != internal_port)
        co_return fail(Errc::malformed, fmt::format("NAT-PMP mapping: answer for internal port {}, asked {}", response->internal_port, internal_port));
    co_return nat::Lease{{*external_ip_, response->external_port}, std::chrono::seconds(response->lifetime), response->epoch};
}

asio::awaitable<Result<void>> Client::unmap(Transport transport, std::uint16_t internal_port, std::uint16_t, nat::Deadline deadline) {
    // §3.4: lifetime 0 and suggested external port 0 delete the internal port's mapping.
    auto request = encode(MapRequest{transport == TCP, internal_port, 0, 0});
    auto response = co_await ask(request, transport == TCP ? Opcode::map_tcp : Opcode::map_udp, deadline);
    if (!response) co_return tl::unexpected(response.error());
    co_return Result<void>{};
}

void Client::close() {
    asio::error_code ignored;
    socket_.close(ignored);
}

asio::ip::address Client::internal_ip() const { return local_address(socket_); }

}  // namespace warpgate::natpmp
