// Plain POSIX UDP helpers shared by the lab's own tools (IPv4 only, blocking + poll).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace lab::udp {

inline std::optional<sockaddr_in> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    sockaddr_in out{};
    out.sin_family = AF_INET;
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &out.sin_addr) != 1) return std::nullopt;
    try {
        const auto port = std::stoul(text.substr(colon + 1));
        if (port == 0 || port > 65535) return std::nullopt;
        out.sin_port = htons(static_cast<std::uint16_t>(port));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return out;
}

inline std::string to_string(const sockaddr_in& ep) {
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &ep.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(ep.sin_port));
}

inline bool same(const sockaddr_in& a, const sockaddr_in& b) {
    return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

// A UDP socket closed on scope exit.
class Socket {
public:
    explicit Socket(const sockaddr_in& local) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
        if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
            ::close(fd_);
            throw std::runtime_error(std::string("bind ") + to_string(local) + ": " +
                                     std::strerror(errno));
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket() { ::close(fd_); }

    sockaddr_in local() const {
        sockaddr_in out{};
        socklen_t len = sizeof out;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&out), &len);
        return out;
    }

    void send_to(std::span<const std::uint8_t> data, const sockaddr_in& to) const {
        // Errors such as ICMP-triggered ECONNREFUSED are part of what the lab observes.
        (void)::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                       sizeof to);
    }

    struct Datagram {
        std::vector<std::uint8_t> data;
        sockaddr_in from;
    };

    // Waits at most `timeout` for one datagram.
    std::optional<Datagram> receive(std::chrono::milliseconds timeout) const {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
        Datagram d{std::vector<std::uint8_t>(2048), {}};
        socklen_t len = sizeof d.from;
        const auto n = ::recvfrom(fd_, d.data.data(), d.data.size(), 0,
                                  reinterpret_cast<sockaddr*>(&d.from), &len);
        if (n < 0) return std::nullopt;
        d.data.resize(static_cast<std::size_t>(n));
        return d;
    }

private:
    int fd_;
};

inline sockaddr_in any_port(std::uint16_t port = 0) {
    sockaddr_in out{};
    out.sin_family = AF_INET;
    out.sin_addr.s_addr = htonl(INADDR_ANY);
    out.sin_port = htons(port);
    return out;
}

} // namespace lab::udp
