#include "net/netlink_routes.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace warpgate::net {
namespace {

// Kernel structures are copied out with memcpy: the datagram buffer promises no alignment.
template <class T>
T load(ByteView bytes) {
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
}

Error malformed(std::string what) { return Error{Errc::malformed, "rtnetlink: " + std::move(what)}; }

// Walks a run of route attributes (struct rtattr, RTA_ALIGN-padded); false when one overruns.
bool for_each_attribute(ByteView run, const std::function<void(unsigned short type, ByteView value)>& visit) {
    while (run.size() >= sizeof(rtattr)) {
        const auto attr = load<rtattr>(run);
        if (attr.rta_len < sizeof(rtattr) || attr.rta_len > run.size()) return false;
        visit(attr.rta_type, run.subspan(RTA_LENGTH(0), attr.rta_len - RTA_LENGTH(0)));
        run = run.subspan(std::min<std::size_t>(RTA_ALIGN(attr.rta_len), run.size()));
    }
    return true;
}

std::optional<asio::ip::address> gateway_from(ByteView value, unsigned char family) {
    if (family == AF_INET && value.size() == 4) return asio::ip::address_v4({value[0], value[1], value[2], value[3]});
    if (family == AF_INET6 && value.size() == 16) {
        asio::ip::address_v6::bytes_type raw;
        std::copy(value.begin(), value.end(), raw.begin());
        return asio::ip::address_v6(raw);
    }
    return std::nullopt;
}

// RTA_MULTIPATH: a run of struct rtnexthop, each followed by its own attributes.
bool add_next_hops(ByteView run, unsigned char family, std::uint32_t metric, std::vector<DefaultRoute>& routes) {
    while (run.size() >= sizeof(rtnexthop)) {
        const auto hop = load<rtnexthop>(run);
        if (hop.rtnh_len < sizeof(rtnexthop) || hop.rtnh_len > run.size()) return false;
        std::optional<asio::ip::address> gateway;
        const bool ok = for_each_attribute(run.subspan(RTNH_LENGTH(0), hop.rtnh_len - RTNH_LENGTH(0)),
                                           [&](unsigned short type, ByteView value) {
                                               if (type == RTA_GATEWAY) gateway = gateway_from(value, family);
                                           });
        if (!ok) return false;
        if (gateway && hop.rtnh_ifindex > 0)
            routes.push_back({static_cast<std::uint32_t>(hop.rtnh_ifindex), *gateway, metric});
        run = run.subspan(std::min<std::size_t>(RTNH_ALIGN(hop.rtnh_len), run.size()));
    }
    return true;
}

Result<void> add_route(ByteView payload, std::vector<DefaultRoute>& routes) {
    if (payload.size() < sizeof(rtmsg)) return tl::unexpected(malformed("route message shorter than rtmsg"));
    const auto rt = load<rtmsg>(payload);
    std::uint32_t table = rt.rtm_table;  // RTA_TABLE carries ids above 255
    std::uint32_t oif = 0, metric = 0;
    std::optional<asio::ip::address> gateway;
    ByteView multipath;
    const bool ok = for_each_attribute(payload.subspan(std::min(NLMSG_ALIGN(sizeof(rtmsg)), payload.size())),
                                       [&](unsigned short type, ByteView value) {
                                           const bool u32 = value.size() == sizeof(std::uint32_t);
                                           if (type == RTA_TABLE && u32) table = load<std::uint32_t>(value);
                                           if (type == RTA_OIF && u32) oif = load<std::uint32_t>(value);
                                           if (type == RTA_PRIORITY && u32) metric = load<std::uint32_t>(value);
                                           if (type == RTA_GATEWAY) gateway = gateway_from(value, rt.rtm_family);
                                           if (type == RTA_MULTIPATH) multipath = value;
                                       });
    if (!ok) return tl::unexpected(malformed("route attribute overruns its message"));
    if (rt.rtm_dst_len != 0 || table != RT_TABLE_MAIN || rt.rtm_type != RTN_UNICAST) return {};
    if (gateway && oif > 0) routes.push_back({oif, *gateway, metric});
    if (!add_next_hops(multipath, rt.rtm_family, metric, routes))
        return tl::unexpected(malformed("next hop overruns its route"));
    return {};
}

// The socket of one dump, closed on every path.
class NetlinkSocket {
public:
    NetlinkSocket() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {}
    ~NetlinkSocket() {
        if (fd_ >= 0) ::close(fd_);
    }
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

Error os_error(const char* call) { return Error{Errc::io, fmt::format("rtnetlink: {}: {}", call, std::strerror(errno))}; }

Result<void> dump_routes(unsigned char family, std::vector<DefaultRoute>& routes) {
    NetlinkSocket sock;
    if (sock.fd() < 0) return tl::unexpected(os_error("socket"));
    // The kernel answers at once; the timeout only guards against a dump that never ends.
    const timeval timeout{2, 0};
    if (::setsockopt(sock.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0)
        return tl::unexpected(os_error("setsockopt"));

    struct {
        nlmsghdr header;
        rtmsg route;
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
    request.header.nlmsg_type = RTM_GETROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = 1;
    request.route.rtm_family = family;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(sock.fd(), &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
        return tl::unexpected(os_error("sendto"));

    Bytes buffer(64 * 1024);
    for (;;) {
        sockaddr_nl from{};
        socklen_t from_len = sizeof from;
        const auto n = ::recvfrom(sock.fd(), buffer.data(), buffer.size(), MSG_TRUNC,
                                  reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n < 0) return tl::unexpected(os_error("recvfrom"));
        if (static_cast<std::size_t>(n) > buffer.size())
            return tl::unexpected(malformed(fmt::format("{}-byte datagram is over the buffer", n)));
        if (from.nl_pid != 0) continue;  // only the kernel answers a dump
        auto done = parse_route_dump(ByteView(buffer).first(static_cast<std::size_t>(n)), routes);
        if (!done) return tl::unexpected(done.error());
        if (*done) return {};
    }
}

}  // namespace

Result<bool> parse_route_dump(ByteView datagram, std::vector<DefaultRoute>& routes) {
    while (datagram.size() >= sizeof(nlmsghdr)) {
        const auto header = load<nlmsghdr>(datagram);
        if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > datagram.size())
            return fail(Errc::malformed, fmt::format("rtnetlink: message length {} does not fit", header.nlmsg_len));
        const auto payload = datagram.subspan(NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN);
        if (header.nlmsg_type == NLMSG_DONE) return true;
        if (header.nlmsg_type == NLMSG_ERROR) {
            if (payload.size() < sizeof(nlmsgerr)) return fail(Errc::malformed, "rtnetlink: short error message");
            const int code = load<nlmsgerr>(payload).error;  // 0 is an acknowledgement
            if (code != 0)
                return fail(Errc::io, fmt::format("rtnetlink: route dump failed: {}",
                                                  code < 0 && code > -4096 ? std::strerror(-code) : "unknown error"));
        }
        if (header.nlmsg_type == RTM_NEWROUTE) {
            auto added = add_route(payload, routes);
            if (!added) return tl::unexpected(added.error());
        }
        datagram = datagram.subspan(std::min<std::size_t>(NLMSG_ALIGN(header.nlmsg_len), datagram.size()));
    }
    if (!datagram.empty()) return fail(Errc::malformed, "rtnetlink: truncated message header");
    return false;
}

Result<std::vector<DefaultRoute>> default_routes() {
    std::vector<DefaultRoute> routes;
    for (int family : {AF_INET, AF_INET6}) {
        auto dumped = dump_routes(static_cast<unsigned char>(family), routes);
        if (!dumped) return tl::unexpected(dumped.error());
    }
    return routes;
}

}  // namespace warpgate::net
