#include "support/node_fixture.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

namespace warpgate::test {

NodeOptions loopback_node(const TempDir& dir, const char* address) {
    NodeOptions o;
    o.conf = NodeConfig::test();
    o.conf.install_path = dir.path();
    o.ips.push_back(ip(address));
    o.port = 0;
    return o;
}

GateOptions loopback_gate(const TempDir& dir, const char* address) {
    GateOptions o;
    o.conf = NodeConfig::test();
    o.conf.install_path = dir.path();
    o.ips.push_back(ip(address));
    o.port = 0;
    return o;
}

bool has_ipv6_loopback() {
    asio::io_context io;
    asio::ip::udp::socket s(io);
    asio::error_code ec;
    s.open(asio::ip::udp::v6(), ec);
    if (!ec) s.bind({asio::ip::address_v6::loopback(), 0}, ec);
    return !ec;
}

}  // namespace warpgate::test
