#include "traversal/direct_connect.hpp"

#include <warpgate/node.hpp>

#include "crypto/link_security.hpp"
#include "net/frame.hpp"
#include "net/tcp_pipe.hpp"
#include "net/timeout.hpp"
#include "net/udp_pipe.hpp"
#include "node/node_impl.hpp"
#include "traversal/dial_policy.hpp"

namespace warpgate::traversal {
namespace {

asio::ip::address loopback(Family f) {
    if (f == IP6) return asio::ip::address_v6::loopback();
    return asio::ip::address_v4::loopback();
}

}  // namespace

std::vector<Attempt> DirectConnect::plan(Node& node, const NodeAddress& peer, Transport transport) {
    std::vector<Attempt> attempts;
    auto add = [&](Family family, Route route, const asio::ip::address& ip, std::uint16_t port) {
        Endpoint target{ip, port};
        for (auto& a : attempts)
            if (a.target == target) return;  // one attempt per destination
        attempts.push_back({std::string(name()), transport, family, route, target, {}});
    };
    auto& ours = node.node_address();
    for (auto family : node.supported()) {
        auto& entries = peer.entries(family);
        if (entries.empty()) continue;
        if (peer.machine_id == ours.machine_id) add(family, Route::loopback, loopback(family), entries.front().port);
        for (auto& theirs : entries) {
            for (auto& mine : ours.entries(family)) {
                // Same LAN: their NIC is in our subnet, or we share an external address (same NAT).
                bool lan = same_subnet(theirs.nic_ip, mine.nic_ip, std::min(theirs.prefix_len, mine.prefix_len)) ||
                           (theirs.external_ip == mine.external_ip && theirs.external_ip != theirs.nic_ip);
                if (lan) add(family, theirs.nic_ip.is_loopback() ? Route::loopback : Route::lan, theirs.nic_ip, theirs.port);
            }
            // Reachable from outside: a public NIC address, or what STUN saw.
            add(family, Route::external, theirs.external_ip, theirs.port);
        }
    }
    return attempts;
}

asio::awaitable<PipePtr> DirectConnect::attempt(Node& node, const NodeAddress& peer, Attempt attempt) {
    auto options = node.impl().pipe_options();
    PipePtr pipe;
    auto connect = [&]() -> asio::awaitable<PipePtr> {
        PipePtr made;
        if (attempt.transport == TCP) made = co_await net::connect_tcp(attempt.target, std::nullopt, options);
        else made = co_await net::connect_udp(attempt.target, std::nullopt, options);
        co_return made;
    };
    try {
        pipe = co_await net::with_timeout(connect(), node.config().connect_timeout, "connecting to " + attempt.target.to_string());
    } catch (const std::system_error& e) {
        if (dynamic_cast<const Exception*>(&e)) throw;
        throw Exception(Errc::unreachable, e.code().message());
    }
    node.impl().track(pipe);
    pipe->start();
    try {
        co_await introduce(node, *pipe, attempt, peer);
    } catch (...) {
        pipe->close();  // failed, timed out or lost the race: nothing stays open
        throw;
    }
    co_return pipe;
}

asio::awaitable<void> introduce(Node& node, Pipe& pipe, const Attempt& attempt, const NodeAddress& peer) {
    bool secure = node.config().encrypt_links;
    auto hello = net::encode_hello({attempt.con_id, secure});
    if (secure) {
        co_await pipe.send_control(net::FrameType::hello, hello);
        co_await crypto::secure_as_initiator(pipe, *node.impl().identity, peer.public_key, node.config().ping_timeout);
        co_return;
    }
    // UDP may lose the hello or the ping: repeat both a few times within the ping budget.
    int tries = pipe.transport() == UDP ? 3 : 1;
    auto per_try = node.config().ping_timeout / tries;
    for (int i = 1;; ++i) {
        try {
            co_await pipe.send_control(net::FrameType::hello, hello);
            co_await pipe.ping(per_try);
            co_return;
        } catch (const Exception& e) {
            if (e.errc() != Errc::timeout || i == tries) {
                pipe.close();
                throw;
            }
        }
    }
}

}  // namespace warpgate::traversal
