// PCP client (RFC 6887), MAP opcode, to the default gateway: one nonce per mapping, kept
// for its renewals and its deletion (§11.2, §15), the §8.1.1 retransmission schedule bounded
// by the caller's deadline, and the client address the socket's own (§8.1).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>
#include <map>
#include <memory>

#include "nat/mapping_client.hpp"
#include "proto/pcp.hpp"

namespace warpgate::pcp {

class Client final : public nat::MappingClient {
public:
    static Result<std::unique_ptr<Client>> open(const asio::any_io_executor& executor, const asio::ip::address& gateway);

    PortMappingProtocol protocol() const override { return PortMappingProtocol::pcp; }
    asio::awaitable<Result<nat::Lease>> map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                            std::chrono::seconds lifetime, nat::Deadline deadline) override;
    asio::awaitable<Result<void>> unmap(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                        nat::Deadline deadline) override;
    void close() override;
    asio::ip::address internal_ip() const override;

private:
    explicit Client(asio::ip::udp::socket socket) : socket_(std::move(socket)) {}
    asio::awaitable<Result<MapResponse>> ask(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                             std::uint32_t lifetime, nat::Deadline deadline);

    asio::ip::udp::socket socket_;
    std::map<std::pair<Transport, std::uint16_t>, Nonce> nonces_;
};

}  // namespace warpgate::pcp
