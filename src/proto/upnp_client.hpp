// UPnP-IGD client through miniupnpc (WANIPConnection AddPortMapping / DeletePortMapping with
// a lease duration): SSDP discovery of the gateway's IGD, its external address, and mappings
// to this host's LAN address. miniupnpc blocks, so every call runs on the client's own
// BlockingWorker thread (joined by close()); the io_context only awaits, up to each deadline.
#pragma once
#include <asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "nat/mapping_client.hpp"
#include "proto/upnp_worker.hpp"

namespace warpgate::upnp {

struct Igd;  // miniupnpc's URLs and service data, touched only on the worker thread

class Client final : public nat::MappingClient {
public:
    // Multicast SSDP search, then the first valid IGD (one that reports "not connected" is
    // kept: miniupnpc flags private and documentation-range external addresses so).
    // Errc::unreachable when no IGD answered by the deadline.
    static asio::awaitable<Result<std::unique_ptr<Client>>> discover(nat::Deadline deadline);
    ~Client() override;

    PortMappingProtocol protocol() const override { return PortMappingProtocol::upnp; }
    asio::awaitable<Result<nat::Lease>> map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                            std::chrono::seconds lifetime, nat::Deadline deadline) override;
    asio::awaitable<Result<void>> unmap(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                        nat::Deadline deadline) override;
    void close() override;
    asio::ip::address internal_ip() const override;

private:
    Client();

    std::shared_ptr<Igd> igd_;  // shared with the jobs, which may outlive a detached worker
    BlockingWorker worker_;
};

}  // namespace warpgate::upnp
