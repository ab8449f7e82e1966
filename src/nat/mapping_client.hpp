// One port-mapping protocol spoken to one gateway (proto/pcp_client, natpmp_client,
// upnp_client): PortMapper drives whichever answers through this interface.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include <warpgate/port_mapping.hpp>

namespace warpgate::nat {

using Deadline = std::chrono::steady_clock::time_point;

// What a router granted.
struct Lease {
    Endpoint external;
    std::chrono::seconds lifetime{0};
    // The gateway's epoch (PCP, NAT-PMP): a reset says it lost every mapping.
    std::optional<std::uint32_t> epoch;
};

class MappingClient {
public:
    virtual ~MappingClient() = default;
    virtual PortMappingProtocol protocol() const = 0;
    // The address the gateway forwards to: this host's, on the gateway's network.
    virtual asio::ip::address internal_ip() const = 0;
    // Creates or renews the mapping of `internal_port` for `lifetime`, asking for
    // `external_port` (0: the router's choice). Errc::timeout when nothing answered by the
    // deadline, Errc::refused with the router's reason, Errc::cancelled when cancelled.
    virtual asio::awaitable<Result<Lease>> map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                               std::chrono::seconds lifetime, Deadline deadline) = 0;
    // Deletes that mapping.
    virtual asio::awaitable<Result<void>> unmap(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                                Deadline deadline) = 0;
    // Ends the client's waits and releases its socket or worker thread.
    virtual void close() = 0;
};

}  // namespace warpgate::nat
