#include "support/mosquitto.hpp"

#include <filesystem>
#include <fstream>

#include "support/free_port.hpp"

namespace warpgate::test {
namespace {

// Debian installs the broker in /usr/sbin, which a non-root PATH may lack.
std::string program() { return std::filesystem::exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto"; }

}  // namespace

Mosquitto::Mosquitto() {
    start_on_free_ports([this] {
        port_ = free_port();
        auto config = dir_.path() / "mosquitto.conf";
        std::ofstream(config) << "listener " << port_ << " 127.0.0.1\n"
                              << "allow_anonymous true\n"
                              << "persistence false\n"
                              << "set_tcp_nodelay true\n"  // as docs/turn.md advises brokers: no Nagle delay per signal
                              << "log_dest stdout\n";
        Endpoint probe{asio::ip::make_address("127.0.0.1"), port_};
        ServerProcess::Options options{[probe] { return tcp_accepts(probe); }, std::chrono::milliseconds(10000), dir_.path() / "mosquitto.log"};
        options.tcp_ports = {port_};
        process_ = std::make_unique<ServerProcess>(std::vector<std::string>{program(), "-c", config.string()}, options);
    });
}

}  // namespace warpgate::test
