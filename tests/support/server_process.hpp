// A real server (coturn, mosquitto, stund, ...) run by a test: started in the constructor,
// ready when the constructor returns, stopped (SIGTERM, then SIGKILL) in the destructor.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
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
        // Ports the process itself must hold (TCP listening, UDP bound) before it counts as
        // ready: with tests in parallel, a probe may otherwise reach another process that took
        // the port between free_port() and the server's bind, while the server dies of it.
        std::vector<std::uint16_t> tcp_ports;
        std::vector<std::uint16_t> udp_ports;
    };

    // The program exited before it was ready (often: its port was taken meanwhile).
    struct Exited : std::runtime_error {
        using std::runtime_error::runtime_error;
    };

    // argv[0] is looked up in PATH. Throws std::runtime_error (with the log's tail) when the
    // program cannot start or is not ready in time, Exited when it exits early.
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

// Runs start() (which picks fresh ports with free_port() and starts a ServerProcess on them)
// again, up to three times, while the server exits before it is ready: another test took a
// port between the pick and the bind.
template <class Start>
void start_on_free_ports(Start start) {
    for (int attempt = 1;; ++attempt) {
        try {
            start();
            return;
        } catch (const ServerProcess::Exited&) {
            if (attempt == 3) throw;
        }
    }
}

}  // namespace warpgate::test
