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

Endpoint udp_listen_v4(const Node& node) {
    for (auto& e : node.listening())
        if (e.ip.is_v4()) return e;
    return {};
}

NodeAddress redirected(const Node& node, std::uint16_t port) {
    auto address = node.node_address();
    address.v6.clear();
    for (auto& e : address.v4) {
        e.nic_ip = e.external_ip = asio::ip::make_address("127.0.0.1");
        e.port = port;
        e.external_port = 0;
    }
    return address;
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
