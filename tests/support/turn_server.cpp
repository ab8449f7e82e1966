#include "support/turn_server.hpp"

#include <cstdlib>
#include <stdexcept>

#include "support/free_port.hpp"
#include "support/stun_servers.hpp"

namespace warpgate::test {

namespace {

constexpr unsigned relay_ports = 40;

void make_certificate(const std::filesystem::path& dir) {
    auto command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1"
                   " -addext subjectAltName=IP:127.0.0.1 -keyout '" + (dir / "key.pem").string() + "' -out '" +
                   (dir / "cert.pem").string() + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("turn_server: openssl could not make a test certificate");
}

}  // namespace

TurnServerOptions ipv4_relay_only() {
    TurnServerOptions o;
    o.relay_ips = {"127.0.0.1"};
    return o;
}

TurnServerOptions ipv6_only() {
    TurnServerOptions o;
    o.listening_ips = {"::1"};
    o.relay_ips = {"::1"};
    return o;
}

TurnServer::TurnServer(TurnServerOptions options) : options_(std::move(options)) {
    make_certificate(dir_.path());
    start_on_free_ports([this] {
        port_ = free_port(2);
        relay_port_ = free_port(relay_ports);
        start();
    });
}

void TurnServer::start() {
    std::vector<std::string> argv{"turnserver", "-n", "--no-cli", "--no-dtls", "--lt-cred-mech",
                                  "--user", options_.user + ":" + options_.password, "--realm", options_.realm,
                                  "--userdb", (dir_.path() / "turndb").string(),
                                  "--allow-loopback-peers",
                                  "--listening-port", std::to_string(port_), "--tls-listening-port", std::to_string(port_ + 1),
                                  "--min-port", std::to_string(relay_port_), "--max-port", std::to_string(relay_port_ + relay_ports - 1),
                                  "--cert", ca_file().string(), "--pkey", (dir_.path() / "key.pem").string(),
                                  "--pidfile", (dir_.path() / "turnserver.pid").string(), "--log-file", "stdout", "--simple-log", "--verbose"};
    for (auto& ip : options_.listening_ips) argv.insert(argv.end(), {"--listening-ip", ip});
    for (auto& ip : options_.relay_ips) argv.insert(argv.end(), {"--relay-ip", ip});
    if (options_.stale_nonce_seconds > 0) argv.push_back("--stale-nonce=" + std::to_string(options_.stale_nonce_seconds));
    for (auto [flag, seconds] : {std::pair{"--permission-lifetime", options_.permission_lifetime_seconds},
                                 std::pair{"--channel-lifetime", options_.channel_lifetime_seconds}}) {
        if (seconds <= 0) continue;
        argv.push_back(flag);
        argv.push_back(std::to_string(seconds));
    }
    auto udp = endpoint();
    auto tls = tls_endpoint();
    ServerProcess::Options options{[udp, tls] { return stun_answers(udp) && tcp_accepts(udp) && tcp_accepts(tls); },
                                   std::chrono::milliseconds(10000), dir_.path() / "turnserver.log"};
    options.tcp_ports = {udp.port, tls.port};
    options.udp_ports = {udp.port};
    process_ = std::make_unique<ServerProcess>(argv, options);
}

void TurnServer::restart() {
    process_.reset();
    start();
}

}  // namespace warpgate::test
