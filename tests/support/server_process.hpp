// A real server (coturn, mosquitto, stund, ...) run by a test: started in the constructor,
// ready when the constructor returns, stopped (SIGTERM, then SIGKILL) in the destructor.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>
#include <warpgate/endpoint.hpp>

namespace warpgate::test {

class ServerProcess {
public:
    struct Options {
        // True once the server serves; polled until timeout. Empty: ready when spawned.
        std::function<bool()> ready;
        std::chrono::milliseconds timeout{10000};
        std::filesystem::path log;  // stdout and stderr; empty: a file under /tmp
    };

    // argv[0] is looked up in PATH. Throws std::runtime_error (with the log's tail) when the
    // program cannot start, exits early, or is not ready in time.
    ServerProcess(std::vector<std::string> argv, Options options);
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    std::string log() const;  // everything the server printed so far

private:
    void stop();

    std::vector<std::string> argv_;
    std::filesystem::path log_;
    bool own_log_ = false;
    pid_t pid_ = -1;
};

// Readiness probe: a TCP connection to the endpoint succeeds.
bool tcp_accepts(const Endpoint& endpoint);

}  // namespace warpgate::test
