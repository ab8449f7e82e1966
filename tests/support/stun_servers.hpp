// Real STUN servers on loopback for the tests: coturn (RFC 5780 with two addresses) and a
// readiness probe that any STUN server answers.
#pragma once
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>
#include <warpgate/endpoint.hpp>
#include "proto/stun_client.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {

// True when a STUN Binding request to the UDP endpoint draws a response within 200 ms.
bool stun_answers(const Endpoint& server);

// coturn as a STUN-only server listening on every given address on two ports, so that
// CHANGE-REQUEST works between the first two addresses (RFC 5780 needs two IPs; 127.0.0.1 and
// 127.0.0.2 are both loopback).
class Coturn {
public:
    explicit Coturn(std::vector<std::string> addresses = {"127.0.0.1", "127.0.0.2", "::1"});
    Endpoint endpoint(std::size_t address_index = 0) const { return {ips_.at(address_index), port_}; }
    HostPort host_port(std::size_t address_index = 0) const { return {ips_.at(address_index).to_string(), port_}; }
    std::uint16_t port() const { return port_; }
    std::uint16_t alt_port() const { return static_cast<std::uint16_t>(port_ + 1); }
    std::string log() const { return process_->log(); }

private:
    void start(const std::vector<std::string>& addresses);
    TempDir dir_;
    std::vector<asio::ip::address> ips_;
    std::uint16_t port_ = 0;
    std::unique_ptr<ServerProcess> process_;
};

// A test suite sharing one coturn (default addresses), started before its first test.
class CoturnSuite : public ::testing::Test {
protected:
    static void SetUpTestSuite() { coturn = std::make_unique<Coturn>(); }
    static void TearDownTestSuite() { coturn.reset(); }
    static inline std::unique_ptr<Coturn> coturn;
};

// 50 ms, then 100 ms between sends, 200 ms for the last (350 ms in all; TCP 500 ms): the
// failure cases of the tests stay quick.
stun::ClientOptions short_stun_budget();

}  // namespace warpgate::test
