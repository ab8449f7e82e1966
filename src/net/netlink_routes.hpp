// Default routes from the kernel's routing tables, read with an rtnetlink dump (rtnetlink(7),
// RFC 3549): the gateway each NIC sends off-link traffic to.
#pragma once
#include <asio/ip/address.hpp>
#include <cstdint>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::net {

struct DefaultRoute {
    std::uint32_t if_index = 0;  // the output interface (RTA_OIF or the next hop's)
    asio::ip::address gateway;
    std::uint32_t metric = 0;  // RTA_PRIORITY: lower wins
    friend bool operator==(const DefaultRoute&, const DefaultRoute&) = default;
};

// Default routes (destination length 0, main table, unicast, via a gateway) of IPv4 and IPv6,
// multipath routes expanded into one entry per next hop.
Result<std::vector<DefaultRoute>> default_routes();

// Parses one datagram of an RTM_GETROUTE dump reply, appending the default routes it holds.
// Returns true once the dump's NLMSG_DONE arrives. Pure and bounds-checked.
Result<bool> parse_route_dump(ByteView datagram, std::vector<DefaultRoute>& routes);

}  // namespace warpgate::net
