#include "support/hostile_stun_peer.hpp"

#include <arpa/inet.h>
#include <asio/ip/udp.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace warpgate::test {

namespace {

Endpoint from_sockaddr(const sockaddr_storage& s) {
    if (s.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
        asio::ip::address_v6::bytes_type b;
        std::copy(std::begin(a.sin6_addr.s6_addr), std::end(a.sin6_addr.s6_addr), b.begin());
        return {asio::ip::address_v6(b), ntohs(a.sin6_port)};
    }
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    return {asio::ip::address_v4(ntohl(a.sin_addr.s_addr)), ntohs(a.sin_port)};
}

}  // namespace

HostileStunPeer::HostileStunPeer(Reply reply, const std::string& ip) : reply_(std::move(reply)) {
    asio::ip::udp::endpoint local(asio::ip::make_address(ip), 0);
    fd_ = socket(local.protocol().family(), SOCK_DGRAM, 0);
    if (fd_ < 0 || bind(fd_, local.data(), static_cast<socklen_t>(local.size())) != 0)
        throw std::runtime_error("hostile peer: cannot bind " + ip);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    endpoint_ = from_sockaddr(bound);
    thread_ = std::thread([this] { serve(); });
}

HostileStunPeer::~HostileStunPeer() {
    stop_ = true;
    thread_.join();
    close(fd_);
}

void HostileStunPeer::serve() {
    std::uint8_t buffer[2048];
    while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) != 1) continue;
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        auto n = recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        auto request = stun::decode(ByteView(buffer, static_cast<std::size_t>(n)));
        if (!request) continue;
        for (const auto& datagram : reply_(*request, from_sockaddr(from), ++requests_))
            sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
}

Bytes binding_success(const stun::Message& request, const Endpoint& mapped) {
    return stun::MessageWriter(stun::Method::binding, stun::MessageClass::success, request.transaction_id)
        .add_xor_address(stun::attr::xor_mapped_address, mapped)
        .finish(true);
}

}  // namespace warpgate::test
