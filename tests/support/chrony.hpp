// chronyd as an NTP server on loopback for the tests and benchmarks: its clock is this
// machine's, so the true offset a client measures against it is 0.
#pragma once
#include <memory>
#include <warpgate/endpoint.hpp>

#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {

// True when an NTP request to the endpoint draws a 48-byte answer within 200 ms.
bool ntp_answers(const Endpoint& server);

// chronyd serving NTP on 127.0.0.1:<free port> from its local reference (stratum 8); -x: it
// never touches the machine's clock.
class Chrony {
public:
    Chrony();
    HostPort host_port() const { return {"127.0.0.1", port_}; }

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<ServerProcess> process_;
};

}  // namespace warpgate::test
