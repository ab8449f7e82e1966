// Feeds arbitrary bytes to the rtnetlink route dump parser: it must never over-read, and every
// route it reports must name an output interface.
#include <cstdio>
#include <cstdlib>

#include "net/netlink_routes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<warpgate::net::DefaultRoute> routes;
    (void)warpgate::net::parse_route_dump(warpgate::ByteView(data, size), routes);
    for (const auto& r : routes) {
        if (r.if_index != 0) continue;
        std::fprintf(stderr, "netlink_routes_fuzz: a route without an interface\n");
        std::abort();
    }
    return 0;
}
