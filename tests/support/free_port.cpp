#include "support/free_port.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <stdexcept>

namespace warpgate::test {

namespace {

template <class Socket>
bool bindable(asio::io_context& io, const asio::ip::address& ip, std::uint16_t port) {
    Socket s(io);
    asio::error_code ec;
    using Protocol = typename Socket::protocol_type;
    s.open(ip.is_v6() ? Protocol::v6() : Protocol::v4(), ec);
    if (!ec) s.bind({ip, port}, ec);
    return !ec;
}

}  // namespace

std::uint16_t free_port(unsigned count, const std::vector<std::string>& addresses) {
    asio::io_context io;
    std::vector<asio::ip::address> ips;
    for (const auto& a : addresses) ips.push_back(asio::ip::make_address(a));
    for (int attempt = 0; attempt < 100; ++attempt) {
        // Let the kernel pick a start port, then check the run above it.
        asio::ip::udp::socket probe(io, {ips.front(), 0});
        auto start = probe.local_endpoint().port();
        probe.close();
        if (start + count > 65535) continue;
        bool all_free = true;
        for (unsigned i = 0; i < count && all_free; ++i)
            for (const auto& ip : ips)
                all_free = all_free && bindable<asio::ip::udp::socket>(io, ip, static_cast<std::uint16_t>(start + i)) &&
                           bindable<asio::ip::tcp::socket>(io, ip, static_cast<std::uint16_t>(start + i));
        if (all_free) return start;
    }
    throw std::runtime_error("free_port: no free run of ports found");
}

}  // namespace warpgate::test
