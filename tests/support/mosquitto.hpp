// A real mosquitto broker on 127.0.0.1:<free port> for the signaling tests, with a throwaway
// config (anonymous, no persistence). stop() kills it mid-test (failover tests).
#pragma once
#include <memory>
#include <warpgate/endpoint.hpp>

#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::test {

class Mosquitto {
public:
    Mosquitto();
    HostPort host_port() const { return {"127.0.0.1", port_}; }
    void stop() { process_.reset(); }
    std::string log() const { return process_ ? process_->log() : std::string(); }

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<ServerProcess> process_;
};

}  // namespace warpgate::test
