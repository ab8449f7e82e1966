#include "support/stun_servers.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <poll.h>

#include "proto/stun_binding.hpp"
#include "proto/stun_client.hpp"
#include "support/free_port.hpp"

namespace warpgate::test {

bool stun_answers(const Endpoint& server) {
    asio::io_context io;
    asio::ip::udp::socket s(io, server.ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4());
    auto request = stun::encode(stun::BindingRequest{stun::random_transaction_id(), std::nullopt, true});
    asio::error_code ec;
    s.send_to(asio::buffer(request), {server.ip, server.port}, 0, ec);
    if (ec) return false;
    pollfd p{s.native_handle(), POLLIN, 0};
    return poll(&p, 1, 200) == 1 && (p.revents & POLLIN);
}

Coturn::Coturn(std::vector<std::string> addresses) {
    for (const auto& a : addresses) ips_.push_back(asio::ip::make_address(a));
    start_on_free_ports([&] { start(addresses); });
}

void Coturn::start(const std::vector<std::string>& addresses) {
    port_ = free_port(2, addresses);
    std::vector<std::string> argv{"turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls", "--stun-only",
                                  "--listening-port", std::to_string(port_), "--alt-listening-port", std::to_string(port_ + 1),
                                  "--pidfile", (dir_.path() / "turnserver.pid").string(), "--log-file", "stdout"};
    for (const auto& a : addresses) {
        argv.push_back("-L");
        argv.push_back(a);
    }
    auto probe = endpoint(0);
    auto last = Endpoint{ips_.back(), static_cast<std::uint16_t>(port_ + 1)};
    ServerProcess::Options options{[probe, last] { return stun_answers(probe) && stun_answers(last); }, std::chrono::milliseconds(10000),
                                   dir_.path() / "turnserver.log"};
    options.udp_ports = {port_, static_cast<std::uint16_t>(port_ + 1)};
    process_ = std::make_unique<ServerProcess>(argv, options);
}

stun::ClientOptions short_stun_budget() {
    return {{std::chrono::milliseconds(50), 3, 4}, std::chrono::milliseconds(500), true};
}

}  // namespace warpgate::test
