#include "proto/upnp_client.hpp"

#include <fmt/format.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

namespace warpgate::upnp {

struct Igd {
    UPNPUrls urls{};
    IGDdatas data{};
    char lan_address[64] = {};
    asio::ip::address external_ip;
    bool valid = false;
    ~Igd() {
        if (valid) FreeUPNPUrls(&urls);
    }
};

namespace {

constexpr int only_permanent_leases = 725;  // IGD error: the router takes lease 0 only

std::string command_error(int code) {
    const char* text = strupnperror(code);
    return text ? fmt::format("{} ({})", text, code) : fmt::format("error {}", code);
}

// upnpDiscover() always listens for its whole delay (it gathers every answer): half the time
// left, so the IGD's description and the external address can still be fetched in time.
int ssdp_listen_ms(nat::Deadline deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return static_cast<int>(std::clamp<std::int64_t>(left / 2, 100, 2000));
}

// Runs on the worker: SSDP search (at most until the deadline), IGD selection, external address.
Result<void> find_igd(Igd& igd, nat::Deadline deadline) {
    int error = 0;
    // One search (upnpDiscover() would try four device types, each listening the whole delay);
    // IGDv2 devices answer the v1 search too.
    const char* const igd_type[] = {"urn:schemas-upnp-org:device:InternetGatewayDevice:1", nullptr};
    UPNPDev* devices = upnpDiscoverDevices(igd_type, ssdp_listen_ms(deadline), nullptr, nullptr, UPNP_LOCAL_PORT_ANY, 0, 2, &error, 0);
    if (!devices) return fail(Errc::unreachable, fmt::format("UPnP: no device answered the SSDP search (error {})", error));
    int found = UPNP_GetValidIGD(devices, &igd.urls, &igd.data, igd.lan_address, sizeof igd.lan_address);
    freeUPNPDevlist(devices);
    if (found == 0) return fail(Errc::unreachable, "UPnP: no Internet Gateway Device among the devices found");
    igd.valid = true;
    if (found == 3) return fail(Errc::unreachable, "UPnP: the device found is not an Internet Gateway Device");
    char external[40] = {};
    int rc = UPNP_GetExternalIPAddress(igd.urls.controlURL, igd.data.first.servicetype, external);
    if (rc != UPNPCOMMAND_SUCCESS) return fail(Errc::refused, "UPnP GetExternalIPAddress: " + command_error(rc));
    asio::error_code ec;
    igd.external_ip = asio::ip::make_address(external, ec);
    if (ec) return fail(Errc::malformed, fmt::format("UPnP GetExternalIPAddress: '{}' is not an address", external));
    return {};
}

Result<std::uint32_t> add_mapping(const Igd& igd, Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                  std::uint32_t lifetime) {
    auto ext = std::to_string(external_port);
    auto in = std::to_string(internal_port);
    const char* proto = transport == TCP ? "TCP" : "UDP";
    auto add = [&](std::uint32_t lease) {
        auto text = std::to_string(lease);
        return UPNP_AddPortMapping(igd.urls.controlURL, igd.data.first.servicetype, ext.c_str(), in.c_str(), igd.lan_address,
                                   "warpgate", proto, nullptr, text.c_str());
    };
    int rc = add(lifetime);
    if (rc == only_permanent_leases) {
        // Permanent, then: close() deletes it; a killed node leaves it behind (logged by the mapper).
        lifetime = 0;
        rc = add(0);
    }
    if (rc != UPNPCOMMAND_SUCCESS) return fail(Errc::refused, fmt::format("UPnP AddPortMapping {} {}: {}", proto, external_port, command_error(rc)));
    return lifetime;
}


// The jobs the worker runs, built outside the coroutines (GCC 12 destroys a lambda temporary
// in a co_await expression twice) and holding the Igd by shared_ptr (a detached worker may
// finish one after the client is gone).
std::function<Result<void>()> discover_job(std::shared_ptr<Igd> igd, nat::Deadline deadline) {
    return [igd, deadline] { return find_igd(*igd, deadline); };
}

std::function<Result<std::uint32_t>()> add_job(std::shared_ptr<Igd> igd, Transport transport, std::uint16_t internal_port,
                                               std::uint16_t external_port, std::uint32_t lifetime) {
    return [=] { return add_mapping(*igd, transport, internal_port, external_port, lifetime); };
}

std::function<Result<void>()> delete_job(std::shared_ptr<Igd> igd, Transport transport, std::uint16_t external_port) {
    return [=]() -> Result<void> {
        auto ext = std::to_string(external_port);
        const char* proto = transport == TCP ? "TCP" : "UDP";
        int rc = UPNP_DeletePortMapping(igd->urls.controlURL, igd->data.first.servicetype, ext.c_str(), proto, nullptr);
        if (rc != UPNPCOMMAND_SUCCESS) return fail(Errc::refused, fmt::format("UPnP DeletePortMapping {} {}: {}", proto, ext, command_error(rc)));
        return {};
    };
}

}  // namespace

Client::Client() : igd_(std::make_shared<Igd>()) {}

Client::~Client() { worker_.join(); }

asio::awaitable<Result<std::unique_ptr<Client>>> Client::discover(nat::Deadline deadline) {
    std::unique_ptr<Client> client(new Client());
    auto job = discover_job(client->igd_, deadline);
    auto found = co_await client->worker_.run<void>(std::move(job), deadline, "UPnP discovery");
    if (!found) co_return tl::unexpected(found.error());
    co_return client;
}

asio::awaitable<Result<nat::Lease>> Client::map(Transport transport, std::uint16_t internal_port, std::uint16_t external_port,
                                                std::chrono::seconds lifetime, nat::Deadline deadline) {
    // The IGD maps a fixed external port: the router's choice (0) is the internal one.
    if (external_port == 0) external_port = internal_port;
    auto job = add_job(igd_, transport, internal_port, external_port, static_cast<std::uint32_t>(lifetime.count()));
    auto granted = co_await worker_.run<std::uint32_t>(std::move(job), deadline, "UPnP AddPortMapping");
    if (!granted) co_return tl::unexpected(granted.error());
    co_return nat::Lease{{igd_->external_ip, external_port}, std::chrono::seconds(*granted), std::nullopt};
}

asio::awaitable<Result<void>> Client::unmap(Transport transport, std::uint16_t, std::uint16_t external_port, nat::Deadline deadline) {
    auto job = delete_job(igd_, transport, external_port);
    auto deleted = co_await worker_.run<void>(std::move(job), deadline, "UPnP DeletePortMapping");
    co_return deleted;
}

void Client::close() { worker_.join(); }

asio::ip::address Client::internal_ip() const {
    // Written by discovery on the worker, read here after its result was posted back.
    asio::error_code ec;
    auto ip = asio::ip::make_address(igd_->lan_address, ec);
    return ec ? asio::ip::address() : ip;
}

}  // namespace warpgate::upnp
