// NAT-PMP client (RFC 6886) to the default gateway: its external address, and UDP/TCP
// mappings created, renewed and deleted on the §3.1 retransmission schedule, every wait
// bounded by the caller's deadline.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/udp.hpp>
#include <memory>

#include "nat/mapping_client.hpp"
#include "proto/natpmp.hpp"

namespace warpgate::natpmp {

class Client final : public nat::MappingClient {
public:
    static Result<std::unique_ptr<Client>> open(const asio::any_io_executor& executor, asio::ip::address_v4 gateway);

    PortMappingProtocol protocol() const override { return PortMappingProtocol::natpmp; }
    // The external address and epoch (opcode 0). Errc::refused with the result code.
    asio::awaitable<Result<Response>> external_address(nat::Deadline deadline);
    // The lease's external address is the one external_address() last learned (NAT-PMP's
    // mapping response does not carry it): map() asks for it first when unknown.
    asio::awaitable<Result<nat::Lease>> map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                            std::chrono::seconds lifetime, nat::Deadline deadline) override;
    asio::awaitable<Result<void>> unmap(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                        nat::Deadline deadline) override;
    void close() override;
    asio::ip::address internal_ip() const override;

private:
    explicit Client(asio::ip::udp::socket socket) : socket_(std::move(socket)) {}
    asio::awaitable<Result<Response>> ask(ByteView request, Opcode opcode, nat::Deadline deadline);

    asio::ip::udp::socket socket_;
    std::optional<asio::ip::address_v4> external_ip_;
};

}  // namespace warpgate::natpmp
