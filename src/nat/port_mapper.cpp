#include "nat/port_mapper.hpp"

#include <algorithm>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include "log.hpp"

#include "net/netlink_routes.hpp"
#include "proto/natpmp_client.hpp"
#include "proto/pcp_client.hpp"
#include "proto/upnp_client.hpp"

namespace warpgate {

const char* to_string(PortMappingProtocol p) noexcept {
    switch (p) {
        case PortMappingProtocol::any: return "any";
        case PortMappingProtocol::pcp: return "pcp";
        case PortMappingProtocol::natpmp: return "natpmp";
        case PortMappingProtocol::upnp: return "upnp";
    }
    return "?";
}

Result<PortMappingProtocol> parse_port_mapping_protocol(std::string_view text) {
    for (auto p : {PortMappingProtocol::any, PortMappingProtocol::pcp, PortMappingProtocol::natpmp, PortMappingProtocol::upnp})
        if (text == to_string(p)) return p;
    return fail(Errc::config, "port mapping protocol '" + std::string(text) + "' is not one of any, pcp, natpmp, upnp");
}

}  // namespace warpgate

namespace warpgate::nat {
namespace {

using Steady = std::chrono::steady_clock;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
// A failed renewal is retried this soon (while the lease lasts).
constexpr std::chrono::seconds retry_after{5};
// Mapped in this order (a static array: GCC 12 mishandles an initializer list's lifetime
// across a coroutine's suspensions).
constexpr Transport both_transports[] = {TCP, UDP};

// PCP and NAT-PMP speak to the IPv4 default gateway (NAT-PMP is IPv4 only; PCP over IPv6
// would need the IPv6 gateway's firewall, which this does not drive yet).
Result<asio::ip::address_v4> default_gateway_v4() {
    auto routes = net::default_routes();
    if (!routes) return tl::unexpected(routes.error());
    const net::DefaultRoute* best = nullptr;
    for (auto& r : *routes)
        if (r.gateway.is_v4() && (!best || r.metric < best->metric)) best = &r;
    if (!best) return fail(Errc::unreachable, "no IPv4 default gateway");
    return best->gateway.to_v4();
}

// Renewed at half the lease: the granted one, or the one asked for when the gateway granted
// more (PCP servers may impose a minimum, e.g. miniupnpd's 120 s), so a short configured lease
// still notices a gateway restart that soon.
Steady::time_point half_lease(const PortMapping& m, std::chrono::seconds asked) {
    return m.renewed + std::max<std::chrono::seconds>(std::min(m.lease, asked) / 2, std::chrono::seconds(1));
}

std::string describe(const PortMapping& m) {
    return fmt::format("{} {} -> {} ({} s)", to_string(m.transport), m.external.to_string(), m.internal.to_string(), m.lease.count());
}

}  // namespace

PortMapper::PortMapper(asio::any_io_executor executor, PortMapperOptions options)
    : executor_(executor), options_(options), renewals_ended_(executor) {}

PortMapper::~PortMapper() { shutdown(); }

asio::awaitable<Result<std::unique_ptr<MappingClient>>> PortMapper::open(PortMappingProtocol protocol, Deadline deadline) {
    if (protocol == PortMappingProtocol::upnp) {
        auto upnp = co_await upnp::Client::discover(deadline);
        if (!upnp) co_return tl::unexpected(upnp.error());
        co_return std::unique_ptr<MappingClient>(std::move(*upnp));
    }
    auto gateway = default_gateway_v4();
    if (!gateway) co_return tl::unexpected(gateway.error());
    if (protocol == PortMappingProtocol::pcp) {
        auto pcp = pcp::Client::open(executor_, *gateway);
        if (!pcp) co_return tl::unexpected(pcp.error());
        co_return std::unique_ptr<MappingClient>(std::move(*pcp));
    }
    auto natpmp = natpmp::Client::open(executor_, *gateway);
    if (!natpmp) co_return tl::unexpected(natpmp.error());
    co_return std::unique_ptr<MappingClient>(std::move(*natpmp));
}

asio::awaitable<Result<std::string>> PortMapper::map_with(MappingClient& client, std::uint16_t port, Deadline deadline) {
    std::uint16_t external_port = port;  // the same port outside when free: the node address stays short
    std::string outcome;
    for (auto transport : both_transports) {
        auto lease = co_await client.map(transport, port, external_port, options_.lease, deadline);
        if (!lease) {
            if (held_.empty()) co_return tl::unexpected(lease.error());
            outcome += fmt::format("; {} not mapped: {}", to_string(transport), lease.error().message);
            continue;
        }
        if (lease->epoch) epoch_.lost_state(*lease->epoch, Steady::now());
        external_port = lease->external.port;
        PortMapping m{client.protocol(), transport, {client.internal_ip(), port}, lease->external, lease->lifetime, Steady::now(), 0};
        outcome += (held_.empty() ? "" : ", ") + describe(m);
        held_.push_back({m, half_lease(m, options_.lease)});
    }
    co_return fmt::format("{}: {}", to_string(client.protocol()), outcome);
}

asio::awaitable<std::string> PortMapper::start(std::uint16_t port) {
    auto deadline = Steady::now() + options_.timeout;
    std::vector<PortMappingProtocol> order{PortMappingProtocol::pcp, PortMappingProtocol::natpmp, PortMappingProtocol::upnp};
    if (options_.protocol != PortMappingProtocol::any) order = {options_.protocol};
    std::string failures;
    for (std::size_t i = 0; i < order.size() && !closed_; ++i) {
        auto protocol = order[i];
        // Each protocol gets an equal share of the time left, so a gateway that silently drops
        // one (PCP's first retransmission alone is 3 s) leaves time for the next.
        auto share = (deadline - Steady::now()) / static_cast<int>(order.size() - i);
        auto step_deadline = Steady::now() + share;
        auto client = co_await open(protocol, step_deadline);
        if (client) {
            auto mapped = co_await map_with(**client, port, step_deadline);
            if (mapped) {
                client_ = std::move(*client);
                renewing_ = true;
                asio::co_spawn(executor_, renew_loop(shared_from_this()),
                               asio::bind_cancellation_slot(stop_renewing_.slot(), [self = shared_from_this()](std::exception_ptr) {
                                   self->renewing_ = false;
                                   self->renewals_ended_.cancel();
                               }));
                co_return *mapped;
            }
            (*client)->close();
            client = tl::unexpected(mapped.error());
        }
        failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", to_string(protocol), client.error().message);
    }
    co_return "no port mapping (" + failures + ")";
}

asio::awaitable<void> PortMapper::renew(Held& held) {
    auto& mapping = held.mapping;
    auto lease = co_await client_->map(mapping.transport, mapping.internal.port, mapping.external.port, options_.lease, request_deadline());
    auto now = Steady::now();
    if (!lease) {
        log::warn("port mapping {} not renewed: {}", describe(mapping), lease.error().message);
        held.due = now + retry_after;
        co_return;
    }
    if (lease->external != mapping.external)
        log::warn("port mapping {}: the gateway moved it to {}", describe(mapping), lease->external.to_string());
    mapping.external = lease->external;
    mapping.lease = lease->lifetime;
    mapping.renewed = now;
    held.due = half_lease(mapping, options_.lease);
    if (lease->epoch && epoch_.lost_state(*lease->epoch, now)) {
        // The gateway restarted: this request just re-created this mapping; the others are
        // gone too and are mapped again now.
        log::info("port mapping: {} gateway restarted (epoch {}), restoring {} mappings", to_string(mapping.protocol),
                     *lease->epoch, held_.size());
        for (auto& h : held_) {
            ++h.mapping.restored;
            if (&h != &held) h.due = now;
        }
    }
}

asio::awaitable<void> PortMapper::renew_loop(std::shared_ptr<PortMapper> self) {
    asio::steady_timer timer(self->executor_);
    for (;;) {
        auto next = Steady::time_point::max();
        for (auto& h : self->held_) next = std::min(next, h.due);
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(as_tuple_awaitable);
        if (ec || self->closed_) co_return;
        for (auto& h : self->held_) {
            if (h.due > Steady::now()) continue;
            co_await self->renew(h);
            auto state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none || self->closed_) co_return;
        }
    }
}

std::vector<PortMapping> PortMapper::mappings() const {
    std::vector<PortMapping> out;
    for (auto& h : held_) out.push_back(h.mapping);
    return out;
}

std::optional<Endpoint> PortMapper::external_for(const asio::ip::address& internal_ip) const {
    for (auto& h : held_)
        if (h.mapping.internal.ip == internal_ip) return h.mapping.external;
    return std::nullopt;
}

asio::awaitable<void> PortMapper::close() {
    if (closed_) co_return;
    closed_ = true;
    stop_renewing_.emit(asio::cancellation_type::terminal);
    while (renewing_) {
        renewals_ended_.expires_at(Steady::time_point::max());
        auto [woken] = co_await renewals_ended_.async_wait(as_tuple_awaitable);
        (void)woken;  // by the loop's end, whatever the code
    }
    if (client_) {
        for (auto& h : held_) {
            auto& m = h.mapping;
            auto removed = co_await client_->unmap(m.transport, m.internal.port, m.external.port, request_deadline());
            if (!removed) log::warn("port mapping {} not removed: {}", describe(m), removed.error().message);
        }
        client_->close();
    }
    held_.clear();
}

void PortMapper::shutdown() {
    closed_ = true;
    stop_renewing_.emit(asio::cancellation_type::terminal);
    if (client_) client_->close();
}

}  // namespace warpgate::nat
