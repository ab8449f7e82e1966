#include "support/chrony.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <array>
#include <fstream>
#include <poll.h>
#include <unistd.h>

#include "proto/ntp.hpp"
#include "support/free_port.hpp"

namespace warpgate::test {

bool ntp_answers(const Endpoint& server) {
    asio::io_context io;
    asio::ip::udp::socket s(io, asio::ip::udp::v4());
    auto request = ntp::encode_request(ntp::random_cookie());
    asio::error_code ec;
    s.send_to(asio::buffer(request), {server.ip, server.port}, 0, ec);
    if (ec) return false;
    pollfd p{s.native_handle(), POLLIN, 0};
    if (poll(&p, 1, 200) != 1 || !(p.revents & POLLIN)) return false;
    std::array<std::uint8_t, 128> reply;
    return s.receive(asio::buffer(reply), 0, ec) == ntp::packet_size && !ec;
}

Chrony::Chrony() {
    start_on_free_ports([this] {
        port_ = free_port();
        auto conf = dir_.path() / "chrony.conf";
        std::ofstream(conf) << "port " << port_ << "\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\n"
                            << "cmdport 0\nbindcmdaddress /\npidfile " << (dir_.path() / "chronyd.pid").string()
                            << "\ndriftfile " << (dir_.path() / "drift").string() << "\n";
        std::vector<std::string> argv{"/usr/sbin/chronyd", "-d", "-x", "-f", conf.string()};
        if (geteuid() == 0) argv.insert(argv.begin() + 3, {"-u", "root"});
        Endpoint probe{asio::ip::make_address("127.0.0.1"), port_};
        ServerProcess::Options options{[probe] { return ntp_answers(probe); }, std::chrono::milliseconds(10000),
                                       dir_.path() / "chronyd.log"};
        options.udp_ports = {port_};
        process_ = std::make_unique<ServerProcess>(argv, options);
    });
}

}  // namespace warpgate::test
