#include "hostile_peer.hpp"

#include <arpa/inet.h>
#include <asio/io_context.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <warpgate/address.hpp>

#include "crypto/handshake.hpp"
#include "crypto/identity.hpp"
#include "crypto/random.hpp"
#include "session/demux.hpp"
#include "support/free_port.hpp"
#include "support/run_async.hpp"
#include "support/session_server.hpp"

namespace warpgate::hostile {
namespace {

using Clock = std::chrono::steady_clock;

std::string cli() { return std::string(WARPGATE_BINARY_DIR) + "/apps/warpgate"; }

sockaddr_in to_sockaddr(const std::string& ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad IPv4 address " + ip);
    return a;
}

void bind_to(int fd, const std::string& source) {
    auto a = to_sockaddr(source, 0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("bind " + source + ": " + std::strerror(errno));
}

long ms_left(Clock::time_point deadline) {
    return std::max<long>(0, std::chrono::duration_cast<Ms>(deadline - Clock::now()).count());
}

// One field of /proc/<pid>/status, in its own unit.
long status_field(pid_t pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(name + ":", 0) == 0) return std::stol(line.substr(name.size() + 1));
    throw std::runtime_error("no " + name + " for pid " + std::to_string(pid));
}

}  // namespace

Listener::Listener(const std::string& config_fields, unsigned nofile) {
    auto port = test::free_port();
    endpoint_ = {asio::ip::make_address("127.0.0.1"), port};
    auto config = dir_.path() / "listener.json";
    auto addr_file = dir_.path() / "listener.addr";
    std::ofstream(config) << R"({"preset": "test", "install_path": ")" << dir_.path().string() << '"'
                          << (config_fields.empty() ? "" : ", " + config_fields) << "}";
    std::vector<std::string> argv;
    if (nofile > 0) argv = {"prlimit", "--nofile=" + std::to_string(nofile) + ":" + std::to_string(nofile), "--"};
    for (auto& a : {cli(), std::string("listen"), std::string("--config"), config.string(), std::string("--ip"), std::string("127.0.0.1"),
                    std::string("--port"), std::to_string(port), std::string("--echo"), std::string("--addr-out"), addr_file.string()})
        argv.push_back(a);
    process_ = std::make_unique<test::ServerProcess>(argv, test::ServerProcess::Options{
                                                               .ready = [addr_file] { return std::filesystem::exists(addr_file); },
                                                               .log = dir_.path() / "listener.log"});
    std::ifstream in(addr_file);
    std::string text;
    in >> text;
    auto address = parse_address_text(text);
    if (!address) throw std::runtime_error("the listener wrote an unreadable address: " + address.error().message);
    key_ = address->public_key;
}

long rss_kib(pid_t pid) { return status_field(pid, "VmRSS"); }

double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces) start after the last ')'.
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::vector<std::string> fields;
    for (std::string f; rest >> f;) fields.push_back(f);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    return double(std::stoull(fields.at(11)) + std::stoull(fields.at(12))) / double(sysconf(_SC_CLK_TCK));
}

std::string source_ip(unsigned i) { return "127.0.0." + std::to_string(2 + i % 250); }

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        reset();
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Fd::~Fd() { reset(); }

void Fd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Fd tcp_connect(const Endpoint& to, const std::string& source) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    bind_to(fd.get(), source);
    auto a = to_sockaddr(to.ip.to_string(), to.port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("connect " + to.to_string() + " from " + source + ": " + std::strerror(errno));
    return fd;
}

bool send_all(const Fd& fd, ByteView bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        auto n = ::send(fd.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool closed_within(const Fd& fd, Ms wait, Bytes* received) {
    auto deadline = Clock::now() + wait;
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(ms_left(deadline))) <= 0) return false;
        std::uint8_t buf[4096];
        auto n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n <= 0) return true;
        if (received) received->insert(received->end(), buf, buf + n);
    }
}

std::size_t wait_all_closed(const std::vector<Fd>& fds, Ms wait, Ms* last_close) {
    auto start = Clock::now();
    auto deadline = start + wait;
    std::vector<bool> closed(fds.size(), false);
    std::size_t count = 0;
    while (count < fds.size() && Clock::now() < deadline) {
        std::vector<pollfd> polls;
        std::vector<std::size_t> which;
        for (std::size_t i = 0; i < fds.size(); ++i)
            if (!closed[i]) {
                polls.push_back({fds[i].get(), POLLIN, 0});
                which.push_back(i);
            }
        if (::poll(polls.data(), polls.size(), static_cast<int>(ms_left(deadline))) <= 0) break;
        for (std::size_t k = 0; k < polls.size(); ++k) {
            if (!polls[k].revents) continue;
            std::uint8_t buf[4096];
            auto n = ::recv(polls[k].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
                closed[which[k]] = true;
                ++count;
                if (last_close) *last_close = std::chrono::duration_cast<Ms>(Clock::now() - start);
            }
        }
    }
    return count;
}

std::optional<Bytes> read_tcp_record(const Fd& fd, Ms wait) {
    auto deadline = Clock::now() + wait;
    Bytes got;
    auto need = session::tcp_length_size;
    while (got.size() < need) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(ms_left(deadline))) <= 0) return std::nullopt;
        std::uint8_t buf[4096];
        auto n = ::recv(fd.get(), buf, std::min(sizeof buf, need - got.size()), 0);
        if (n <= 0) return std::nullopt;
        got.insert(got.end(), buf, buf + n);
        if (got.size() == session::tcp_length_size) {
            auto length = session::decode_length(std::span<const std::uint8_t, session::tcp_length_size>(got.data(), 4), 1 << 20);
            if (!length) return std::nullopt;
            need += *length;
        }
    }
    return Bytes(got.begin() + session::tcp_length_size, got.end());
}

Fd udp_socket(const std::string& source) {
    Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    bind_to(fd.get(), source);
    return fd;
}

void send_datagram(const Fd& fd, const Endpoint& to, ByteView bytes) {
    auto a = to_sockaddr(to.ip.to_string(), to.port);
    ::sendto(fd.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::optional<Bytes> recv_datagram(const Fd& fd, Ms wait) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
    Bytes buf(65536);
    auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

Bytes tcp_framed(ByteView record) {
    auto length = session::encode_length(record.size());
    Bytes out(length.begin(), length.end());
    out.insert(out.end(), record.begin(), record.end());
    return out;
}

session::Hello plaintext_hello(session::SessionId sender) {
    session::Hello hello;
    hello.sender = sender;
    hello.secure = false;
    crypto::random_bytes(hello.con_id);
    return hello;
}

Bytes secure_hello(const Bytes& listener_key) {
    static const auto stranger = crypto::IdentityKey::generate();
    session::Hello hello;
    hello.sender = session::random_session_id();
    hello.secure = true;
    hello.handshake = crypto::Handshake::initiator(stranger, listener_key).hello();
    return session::encode_hello(hello);
}

Bytes random_bytes(std::size_t n) {
    Bytes out(n);
    crypto::random_bytes(out);
    return out;
}

Honest honest_echo(Transport transport, const Endpoint& listener, const Bytes& key, Ms budget) {
    Honest out;
    try {
        test::run_async([&](asio::io_context&) -> asio::awaitable<void> {
            auto start = Clock::now();
            auto demux = std::make_shared<session::Demux>();
            session::SessionSettings settings;
            settings.handshake_timeout = budget;
            auto pipe = co_await test::dial_session(transport, listener, key, demux, settings);
            out.linked = true;
            out.link_time = std::chrono::duration_cast<Ms>(Clock::now() - start);
            auto message = to_bytes("honest " + std::string(to_string(transport)));
            co_await pipe->send(message);
            auto reply = co_await pipe->recv(budget);
            out.echoed = reply == message;
            out.echo_time = std::chrono::duration_cast<Ms>(Clock::now() - start);
            pipe->close();
        });
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

}  // namespace warpgate::hostile
