// coturn as a TURN server on loopback for the tests (RFC 8656 with long-term credentials):
// UDP and TCP on one port, TLS on the next (with a self-signed certificate made for the test),
// by default on 127.0.0.1 with relayed addresses on 127.0.0.1 and ::1, and loopback peers allowed.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <warpgate/endpoint.hpp>
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {

struct TurnServerOptions {
    std::string user = "test";
    std::string password = "test";
    std::string realm = "lab";
    int stale_nonce_seconds = 0;  // 0: coturn's default (600 s)
    // Shorter lifetimes let a test see the client's refreshes keep things alive; 0: coturn's
    // defaults (300 s, 600 s). Allocations cannot be shortened: coturn grants at least 600 s.
    int permission_lifetime_seconds = 0;
    int channel_lifetime_seconds = 0;
    // Where coturn listens (endpoint() is on the first) and the addresses it relays from: an
    // allocation of a family without a relay address here gets 440 Address Family not Supported.
    std::vector<std::string> listening_ips{"127.0.0.1"};
    std::vector<std::string> relay_ips{"127.0.0.1", "::1"};
};

// coturn relaying IPv4 only (an IPv6 Allocate gets 440), listening on 127.0.0.1.
TurnServerOptions ipv4_relay_only();
// coturn listening and relaying on ::1 only (an IPv4 Allocate gets 440).
TurnServerOptions ipv6_only();

class TurnServer {
public:
    explicit TurnServer(TurnServerOptions options = {});
    Endpoint endpoint() const { return {asio::ip::make_address(options_.listening_ips.front()), port_}; }  // UDP and TCP
    Endpoint tls_endpoint() const { return {endpoint().ip, static_cast<std::uint16_t>(port_ + 1)}; }
    // The server's certificate (self-signed for IP 127.0.0.1), to verify TLS against.
    std::filesystem::path ca_file() const { return dir_.path() / "cert.pem"; }
    const TurnServerOptions& options() const { return options_; }
    // Stops coturn and starts a fresh one on the same ports: every allocation is gone.
    void restart();
    void stop() { process_.reset(); }
    std::string log() const { return process_ ? process_->log() : std::string(); }

private:
    void start();

    TurnServerOptions options_;
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::uint16_t relay_port_ = 0;
    std::unique_ptr<ServerProcess> process_;
};

}  // namespace warpgate::test
