#include "support/server_process.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <array>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace warpgate::test {

namespace {

using namespace std::chrono_literals;

std::filesystem::path temp_log(const std::string& program) {
    std::string pattern = (std::filesystem::temp_directory_path() / ("warpgate-" + program + "-XXXXXX.log")).string();
    int fd = mkstemps(pattern.data(), 4);
    if (fd < 0) throw std::runtime_error("server_process: mkstemps failed");
    close(fd);
    return pattern;
}

std::string tail(const std::string& text, std::size_t max = 2000) {
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// The inodes of the sockets in /proc/net/<table> on local port `port` (TCP: listening only).
std::set<std::string> sockets_on(const std::string& table, std::uint16_t port, bool tcp) {
    std::set<std::string> inodes;
    std::ifstream in("/proc/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
        auto colon = local.rfind(':');
        if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
        if (tcp && state != "0A") continue;  // TCP_LISTEN
        inodes.insert(inode);
    }
    return inodes;
}

// Whether process `pid` holds every port listed: one of its descriptors is such a socket.
bool holds_ports(pid_t pid, const std::vector<std::uint16_t>& tcp_ports, const std::vector<std::uint16_t>& udp_ports) {
    std::set<std::string> mine;
    std::error_code ec;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        auto target = std::filesystem::read_symlink(fd.path(), ec).string();
        if (target.starts_with("socket:[")) mine.insert(target.substr(8, target.size() - 9));
    }
    auto held = [&](std::uint16_t port, bool tcp) {
        for (const auto* table : tcp ? std::array{"tcp", "tcp6"} : std::array{"udp", "udp6"})
            for (const auto& inode : sockets_on(table, port, tcp))
                if (mine.contains(inode)) return true;
        return false;
    };
    for (auto port : tcp_ports)
        if (!held(port, true)) return false;
    for (auto port : udp_ports)
        if (!held(port, false)) return false;
    return true;
}

}  // namespace

ServerProcess::ServerProcess(std::vector<std::string> argv, Options options) : argv_(std::move(argv)), log_(options.log) {
    if (argv_.empty()) throw std::invalid_argument("server_process: empty argv");
    auto program = std::filesystem::path(argv_[0]).filename().string();
    if (log_.empty()) {
        log_ = temp_log(program);
        own_log_ = true;
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, argv_[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("server_process: cannot start " + argv_[0] + ": " + std::strerror(rc));

    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    auto ready = [&] {
        return (!options.ready || options.ready()) && holds_ports(pid_, options.tcp_ports, options.udp_ports);
    };
    while (!ready()) {
        if (!running()) {
            auto text = log();
            pid_ = -1;
            throw Exited("server_process: " + program + " exited before it was ready:\n" + tail(text));
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error("server_process: " + program + " not ready in time:\n" + tail(log()));
        }
        std::this_thread::sleep_for(20ms);
    }
}

ServerProcess::~ServerProcess() {
    stop();
    if (own_log_) {
        std::error_code ec;
        std::filesystem::remove(log_, ec);
    }
}

bool ServerProcess::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == 0) return true;
    pid_ = -1;  // reaped
    return false;
}

std::string ServerProcess::log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void ServerProcess::stop() {
    if (!running()) return;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (running()) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(5ms);
    }
}

bool tcp_accepts(const Endpoint& endpoint) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    asio::error_code ec;
    s.connect({endpoint.ip, endpoint.port}, ec);
    return !ec;
}

}  // namespace warpgate::test
