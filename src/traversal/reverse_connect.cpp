#include "traversal/reverse_connect.hpp"

#include <algorithm>
#include <fmt/format.h>
#include "log.hpp"

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"
#include "crypto/identity.hpp"
#include "traversal/direct_connect.hpp"
#include "traversal/signal_reach.hpp"

namespace warpgate::traversal {
namespace {

// Dials the caller the way direct_connect would, trying each of its addresses the dial policy
// allows in turn. `slot` holds this dial-back's place under the concurrency cap until it ends.
asio::awaitable<void> dial_back(PluginContext& ctx, NodeAddress caller, ConnectBack request, std::shared_ptr<ConnectBackGuard> guard,
                                [[maybe_unused]] std::unique_ptr<ConnectBackGuard::Slot> slot) {
    DirectConnect direct;
    std::string why_not;
    // The caller asked because it is reachable from outside: its external address goes first
    // (a loopback or LAN guess that hangs until the connect timeout would outlast its wait).
    auto attempts = direct.plan(ctx, caller, request.transport, why_not);
    std::stable_partition(attempts.begin(), attempts.end(), [](const Attempt& a) { return a.route == Route::external; });
    auto caller_id = crypto::node_id(caller.public_key);
    std::erase_if(attempts, [&](const Attempt& a) {
        auto refusal = ctx.why_not_dial(a.target);
        if (refusal.empty()) return false;
        guard->refuse(refusal, fmt::format("connect_back from {} names {}: not dialed", caller_id, a.target.to_string()));
        return true;
    });
    std::string failures;
    for (auto& attempt : attempts) {
        ++guard->counters().targets_dialed;
        try {
            auto path = co_await ctx.dial(attempt.transport, attempt.target);
            co_await ctx.dial_back(std::move(path), caller, request.con_id);
            ++guard->counters().connected;
            log::info("reverse_connect: connected back to {}", attempt.describe());
            co_return;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            failures += "\n  " + attempt.describe() + ": " + e.error().to_string();
        }
    }
    log::info("reverse_connect: could not connect back to {}:{}", caller_id, failures.empty() ? " no address we may dial" : failures);
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

std::vector<Attempt> ReverseConnect::plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) {
    why_not = why_cannot_signal(ctx, peer);
    if (!why_not.empty()) return {};
    std::vector<Attempt> attempts;
    auto& ours = ctx.own_address();
    for (auto family : ctx.supported()) {
        if (peer.entries(family).empty() || ours.entries(family).empty()) continue;
        auto& mine = ours.entries(family).front();
        attempts.push_back({std::string(name()), transport, family, Route::external, Endpoint{mine.external_ip, mine.port}, {}});
    }
    if (attempts.empty()) why_not = "no address family in common with the peer";
    return attempts;
}

asio::awaitable<Reached> ReverseConnect::attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) {
    // Registered before the request leaves: the peer may dial back at once.
    auto expectation = ctx.expect(attempt.con_id);
    auto request = encode_connect_back({attempt.con_id, attempt.transport, ctx.own_address_bytes()});
    co_await ctx.signal(peer, request);
    auto pipe = co_await expectation->wait(ctx.config().connect_timeout);
    co_return Reached{nullptr, std::move(pipe)};
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

void ReverseConnect::serve(PluginContext& ctx) {
    if (!ctx.has_signaling()) return;
    guard_ = std::make_shared<ConnectBackGuard>(ctx.config());
    ctx.on_signal([&ctx, guard = guard_](PluginSignal message) {
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
        ctx.spawn(dial_back(ctx, std::move(*caller), std::move(*request), guard, std::move(slot)), "reverse_connect dial back");
    });
}

}  // namespace warpgate::traversal
