// The node's port mappings (libtorrent's natpmp/upnp services in one): finds a protocol the
// gateway speaks (PCP, then NAT-PMP, then UPnP-IGD, or the one forced), maps the listen port
// for TCP and UDP with a lease, renews each at half its lease, notices a gateway restart (a
// PCP/NAT-PMP epoch reset, natpmp::EpochWatch) and maps again at once, and deletes every
// mapping on close(). Every request is bounded by the configured timeout; start() as a whole
// too, so a gateway that offers nothing costs at most that.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>
#include <warpgate/port_mapping.hpp>

#include "nat/mapping_client.hpp"
#include "proto/natpmp.hpp"

namespace warpgate::nat {

struct PortMapperOptions {
    PortMappingProtocol protocol = PortMappingProtocol::any;
    std::chrono::milliseconds timeout{2000};  // discovery and mapping at start; each renewal or deletion
    std::chrono::seconds lease{3600};         // asked for; the gateway may grant less
};

class PortMapper : public std::enable_shared_from_this<PortMapper> {
public:
    PortMapper(asio::any_io_executor executor, PortMapperOptions options);
    ~PortMapper();

    // Maps `port` for TCP and UDP with the first protocol that works; a line saying what was
    // mapped, or why nothing was. Never throws; ends by the timeout. Renewals then run in
    // the background until close().
    asio::awaitable<std::string> start(std::uint16_t port);
    // Stops renewing and deletes every mapping from the gateway (each deletion bounded by the
    // timeout), then releases the client (its worker thread joined). Idempotent.
    asio::awaitable<void> close();
    // Without deleting anything (the node's destructor): stops renewing, releases the client.
    void shutdown();

    std::vector<PortMapping> mappings() const;
    // The external endpoint mapped for `internal_ip`'s listen port (TCP's; UDP asks for the
    // same external port), if any.
    std::optional<Endpoint> external_for(const asio::ip::address& internal_ip) const;

private:
    asio::awaitable<Result<std::unique_ptr<MappingClient>>> open(PortMappingProtocol protocol, Deadline deadline);
    asio::awaitable<Result<std::string>> map_with(MappingClient& client, std::uint16_t port, Deadline deadline);
    static asio::awaitable<void> renew_loop(std::shared_ptr<PortMapper> self);
    // A mapping and when to renew it next: at half its lease, or soon after a failed renewal.
    struct Held {
        PortMapping mapping;
        std::chrono::steady_clock::time_point due;
    };
    asio::awaitable<void> renew(Held& held);
    Deadline request_deadline() const { return std::chrono::steady_clock::now() + options_.timeout; }

    asio::any_io_executor executor_;
    PortMapperOptions options_;
    std::unique_ptr<MappingClient> client_;
    std::vector<Held> held_;
    natpmp::EpochWatch epoch_;
    asio::cancellation_signal stop_renewing_;
    asio::steady_timer renewals_ended_;
    bool renewing_ = false;
    bool closed_ = false;
};

}  // namespace warpgate::nat
