#include "traversal/reverse_connect.hpp"

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <warpgate/node.hpp>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"
#include "net/timeout.hpp"
#include "node/node_impl.hpp"
#include "signal/signal_router.hpp"
#include "traversal/dial_policy.hpp"
#include "traversal/direct_connect.hpp"

namespace warpgate::traversal {
namespace {

std::vector<HostPort> mqtt_hints(const NodeAddress& peer) {
    std::vector<HostPort> out;
    for (auto& h : peer.hints)
        if (h.kind == ServerKind::mqtt) out.push_back(h.server);
    return out;
}

// The pipe the callee opens, delivered by NodeImpl::claim. Unregisters itself when the attempt
// ends for any reason (won, timed out, cancelled), so no stale expectation stays behind.
class Expectation {
public:
    Expectation(node::NodeImpl& node, const ConnectionId& id) : node_(node.weak_from_this()), id_(id), arrived_(node.executor) {
        auto state = state_;
        node.expected[id] = [state, this](PipePtr pipe) {
            *state = std::move(pipe);
            arrived_.cancel();
        };
    }
    ~Expectation() {
        if (auto node = node_.lock()) node->expected.erase(id_);
    }
    Expectation(const Expectation&) = delete;
    Expectation& operator=(const Expectation&) = delete;

    asio::awaitable<PipePtr> wait(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!*state_) {
            if (std::chrono::steady_clock::now() >= deadline)
                throw Exception(Errc::timeout, "the peer did not connect back within " + net::describe(timeout));
            arrived_.expires_at(deadline);
            asio::error_code ec;
            co_await arrived_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            auto stop = co_await net::cancelled();
            if (stop) throw Exception(Errc::cancelled, "reverse_connect cancelled");
        }
        co_return *state_;
    }

private:
    std::weak_ptr<node::NodeImpl> node_;
    ConnectionId id_;
    std::shared_ptr<PipePtr> state_ = std::make_shared<PipePtr>();
    asio::steady_timer arrived_;
};

// Where this node is and listens: the dial policy's view of it.
DialScope dial_scope(Node& node) {
    auto& impl = node.impl();
    DialScope scope;
    scope.allow_loopback = node.config().dial_back_loopback;
    for (auto& nic : impl.ifs)
        for (auto& a : nic.addresses) {
            scope.networks.push_back({a.ip, a.prefix_len, nic.index});
            scope.own_endpoints.push_back({a.ip, impl.port});
        }
    for (auto& ip : impl.options.ips) scope.own_endpoints.push_back({ip, impl.port});
    for (auto family : {IP4, IP6})
        for (auto& entry : node.node_address().entries(family)) {
            scope.own_endpoints.push_back({entry.nic_ip, entry.port});
            scope.own_endpoints.push_back({entry.external_ip, entry.port});
        }
    return scope;
}

// Dials the caller the way direct_connect would, trying each of its addresses the dial policy
// allows in turn. `slot` holds this dial-back's place under the concurrency cap until it ends.
asio::awaitable<void> dial_back(Node& node, NodeAddress caller, ConnectBack request, std::shared_ptr<ConnectBackGuard> guard,
                                [[maybe_unused]] std::unique_ptr<ConnectBackGuard::Slot> slot) {
    DirectConnect direct;
    std::string failures;
    // The caller asked because it is reachable from outside: its external address goes first
    // (a loopback or LAN guess that hangs until the connect timeout would outlast its wait).
    auto attempts = direct.plan(node, caller, request.transport);
    std::stable_partition(attempts.begin(), attempts.end(), [](const Attempt& a) { return a.route == Route::external; });
    auto scope = dial_scope(node);
    auto caller_id = crypto::node_id(caller.public_key);
    std::erase_if(attempts, [&](const Attempt& a) {
        auto verdict = check_dial_target(scope, a.target);
        if (verdict == DialVerdict::allowed) return false;
        guard->refuse(to_string(verdict), fmt::format("connect_back from {} names {}: not dialed", caller_id, a.target.to_string()));
        return true;
    });
    for (auto attempt : attempts) {
        attempt.con_id = request.con_id;
        ++guard->counters().targets_dialed;
        try {
            auto pipe = co_await direct.attempt(node, caller, attempt);
            ++guard->counters().connected;
            spdlog::info("reverse_connect: connected back to {}", attempt.describe());
            if (!node.impl().claim(request.con_id, pipe)) {
                spdlog::info("reverse_connect: no inbound handler for the pipe to {}: closed", attempt.target.to_string());
                pipe->close();
            }
            co_return;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            failures += "\n  " + attempt.describe() + ": " + e.error().to_string();
        }
    }
    spdlog::info("reverse_connect: could not connect back to {}:{}", caller_id, failures.empty() ? " no address we may dial" : failures);
}

}  // namespace

Bytes encode_connect_back(const ConnectBack& request) {
    net::ByteWriter w;
    w.u8(ConnectBack::version);
    w.bytes(request.con_id);
    w.u8(request.transport == TCP ? 1 : 2);
    w.bytes(request.caller_address);
    return std::move(w).take();
}

Result<ConnectBack> decode_connect_back(ByteView payload) {
    net::ByteReader r(payload, "connect_back request");
    ConnectBack out;
    auto version = r.u8("version");
    if (r.ok() && version != ConnectBack::version)
        r.reject(0, fmt::format("version {} (this build reads {})", version, ConnectBack::version), Errc::unsupported);
    auto id = r.bytes(out.con_id.size(), "connection id");
    std::copy(id.begin(), id.end(), out.con_id.begin());
    auto transport = r.u8("transport");
    if (r.ok() && transport != 1 && transport != 2) r.reject(17, fmt::format("unknown transport {}", transport));
    out.transport = transport == 2 ? UDP : TCP;
    auto address = r.bytes(r.remaining(), "caller address");
    out.caller_address.assign(address.begin(), address.end());
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

std::vector<Attempt> ReverseConnect::plan(Node& node, const NodeAddress& peer, Transport transport) {
    auto& signaling = node.impl().signaling;
    if (!signaling || mqtt_hints(peer).empty()) return {};
    std::vector<Attempt> attempts;
    auto& ours = node.node_address();
    for (auto family : node.supported()) {
        if (peer.entries(family).empty() || ours.entries(family).empty()) continue;
        auto& mine = ours.entries(family).front();
        attempts.push_back({std::string(name()), transport, family, Route::external, Endpoint{mine.external_ip, mine.port}, {}});
    }
    return attempts;
}

asio::awaitable<PipePtr> ReverseConnect::attempt(Node& node, const NodeAddress& peer, Attempt attempt) {
    auto signaling = node.impl().signaling;
    if (!signaling) throw Exception(Errc::unreachable, "signaling is off");
    Expectation expectation(node.impl(), attempt.con_id);
    auto request = encode_connect_back({attempt.con_id, attempt.transport, node.address()});
    co_await signaling->send(peer.public_key, mqtt_hints(peer), signal::SignalType::connect_back, request);
    auto pipe = co_await expectation.wait(node.config().connect_timeout);
    // Only the callee knows the connection id (it travelled sealed to its key); a secured pipe
    // also names its verified peer, which must be the node we asked.
    if (pipe->encrypted() && pipe->peer_node_id() != crypto::node_id(peer.public_key)) {
        pipe->close();
        throw Exception(Errc::auth_failed, "the pipe that connected back belongs to node " + pipe->peer_node_id() + ", not to the peer");
    }
    try {
        co_await pipe->ping(node.config().ping_timeout);
    } catch (const Exception&) {
        pipe->close();
        throw;
    }
    co_return pipe;
}

ConnectBackGuard::ConnectBackGuard(const NodeConfig& conf)
    : limits_({conf.connect_back_per_key_burst, conf.connect_back_per_key_window},
              {conf.connect_back_total_burst, conf.connect_back_total_window}, net::RateClock::now()),
      max_concurrent_(conf.connect_back_max_concurrent) {}

std::unique_ptr<ConnectBackGuard::Slot> ConnectBackGuard::admit(const Bytes& requester) {
    auto who = crypto::node_id(requester);
    if (in_progress_ >= max_concurrent_) {
        refuse("too_many_dial_backs", fmt::format("connect_back from {}: {} dial-backs already in progress", who, in_progress_));
        return nullptr;
    }
    auto verdict = limits_.admit(requester, net::RateClock::now());
    using Verdict = net::KeyedRateLimit<Bytes>::Verdict;
    if (verdict == Verdict::key_limited) {
        refuse("rate_limited_key", "connect_back from " + who + ": over this key's rate limit");
        return nullptr;
    }
    if (verdict == Verdict::total_limited) {
        refuse("rate_limited_total", "connect_back from " + who + ": over the node's total rate limit");
        return nullptr;
    }
    ++counters_.admitted;
    return std::make_unique<Slot>(shared_from_this());
}

void answer_connect_back(Node& node) {
    auto& signaling = node.impl().signaling;
    if (!signaling) return;
    auto guard = std::make_shared<ConnectBackGuard>(node.config());
    node.impl().connect_back = guard;
    std::weak_ptr<node::NodeImpl> weak = node.impl().weak_from_this();
    signaling->on(signal::SignalType::connect_back, [&node, weak, guard](const signal::SignalMessage& message) {
        auto impl = weak.lock();
        if (!impl || impl->closed) return;
        ++guard->counters().requests;
        auto sender = crypto::node_id(message.sender);
        auto request = decode_connect_back(message.payload);
        if (!request) return guard->refuse("malformed", "connect_back from " + sender + ": " + request.error().to_string());
        auto caller = parse_address(request->caller_address);
        if (!caller) return guard->refuse("malformed", "caller address in connect_back from " + sender + ": " + caller.error().to_string());
        // The address must be the signer's own: nobody makes us dial a third party's node.
        if (caller->public_key != message.sender)
            return guard->refuse("foreign_address", "connect_back from " + sender + " names another node's address");
        auto slot = guard->admit(message.sender);
        if (!slot) return;
        impl->tasks.spawn(dial_back(node, std::move(*caller), std::move(*request), guard, std::move(slot)), "reverse_connect dial back");
    });
}

}  // namespace warpgate::traversal
