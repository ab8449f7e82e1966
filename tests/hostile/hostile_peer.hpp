// The hostile peer's tools: a `warpgate listen --test --echo` process to attack, raw sockets
// that speak (or abuse) the session record format (src/session/record.hpp), probes of the
// listener's memory and CPU from /proc, and the honest client whose link must survive.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>

#include "session/record.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace warpgate::hostile {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

// `warpgate listen --test --ip 127.0.0.1 --port N --echo`, with `config_fields` (JSON object
// members, e.g. R"("handshake_timeout_ms": 1000)") over the test preset, and a descriptor
// limit when `nofile` > 0 (run through prlimit, which execs the listener: same pid).
class Listener {
public:
    explicit Listener(const std::string& config_fields = "", unsigned nofile = 0);
    pid_t pid() const { return process_->pid(); }
    const Endpoint& endpoint() const { return endpoint_; }
    const Bytes& public_key() const { return key_; }
    bool alive() { return process_->running(); }
    std::string log() const { return process_->log(); }

private:
    test::TempDir dir_;
    std::unique_ptr<test::ServerProcess> process_;
    Endpoint endpoint_;
    Bytes key_;
};

// VmRSS of `pid` in KiB; CPU time (user + system) in seconds.
long rss_kib(pid_t pid);
double cpu_seconds(pid_t pid);

// The loopback source address number i (127.0.0.<2 + i % 250>): attackers spread over many
// addresses reach the listener's total caps, not just its per-address ones.
std::string source_ip(unsigned i);

// A raw socket (closed in the destructor).
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept;
    ~Fd();
    int get() const { return fd_; }
    void reset();

private:
    int fd_;
};

// A TCP connection from `source` (blocking connect); throws std::runtime_error on failure.
Fd tcp_connect(const Endpoint& to, const std::string& source = "127.0.0.1");
// Sends all of `bytes` (MSG_NOSIGNAL); false when the peer has closed.
bool send_all(const Fd& fd, ByteView bytes);
// True when the peer closed (EOF or reset) within `wait`; bytes received meanwhile are appended
// to `received` when given.
bool closed_within(const Fd& fd, Ms wait, Bytes* received = nullptr);
// Waits until every socket in `fds` is closed by the peer or `wait` passes; returns how many
// were closed and (in `last_close`) how long after the call the last one closed.
std::size_t wait_all_closed(const std::vector<Fd>& fds, Ms wait, Ms* last_close = nullptr);
// One length-prefixed record read from a TCP stream within `wait`.
std::optional<Bytes> read_tcp_record(const Fd& fd, Ms wait);

// A UDP socket bound to `source`:0.
Fd udp_socket(const std::string& source = "127.0.0.1");
void send_datagram(const Fd& fd, const Endpoint& to, ByteView bytes);
// The next datagram within `wait`.
std::optional<Bytes> recv_datagram(const Fd& fd, Ms wait);

// Records as an attacker writes them.
Bytes tcp_framed(ByteView record);
session::Hello plaintext_hello(session::SessionId sender);
// A secure hello with a real handshake hello from a throw-away identity: what a half-open
// flood sends (each one costs the listener an ECDH and a signature).
Bytes secure_hello(const Bytes& listener_key);
Bytes random_bytes(std::size_t n);

// The honest client: dials in-process, sends a message, waits for its echo.
struct Honest {
    bool linked = false;
    bool echoed = false;
    Ms link_time{0};  // dial to established
    Ms echo_time{0};  // dial to echo received
    std::string error;
};
Honest honest_echo(Transport transport, const Endpoint& listener, const Bytes& key, Ms budget = 1000ms);

}  // namespace warpgate::hostile
