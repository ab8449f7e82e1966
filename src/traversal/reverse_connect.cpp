#include "traversal/reverse_connect.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"
#include "traversal/direct_connect.hpp"

namespace warpgate::traversal {
namespace {

bool has_mqtt_hint(const NodeAddress& peer) {
    return std::any_of(peer.hints.begin(), peer.hints.end(), [](const ServerHint& h) { return h.kind == ServerKind::mqtt; });
}

// Dials the caller the way direct_connect would, trying each of its allowed addresses in turn.
asio::awaitable<void> dial_back(PluginContext& ctx, NodeAddress caller, ConnectBack request) {
    DirectConnect direct;
    std::string why_not;
    // The caller asked because it is reachable from outside: its external address goes first
    // (a loopback or LAN guess that hangs until the connect timeout would outlast its wait).
    auto attempts = direct.plan(ctx, caller, request.transport, why_not);
    std::stable_partition(attempts.begin(), attempts.end(), [](const Attempt& a) { return a.route == Route::external; });
    std::string failures;
    for (auto& attempt : attempts) {
        if (!ctx.may_dial_for_peer(attempt.target)) {
            failures += "\n  " + attempt.describe() + ": not dialled (loopback, a foreign LAN or our own address)";
            continue;
        }
        try {
            auto path = co_await ctx.dial(attempt.transport, attempt.target);
            co_await ctx.dial_back(std::move(path), caller, request.con_id);
            spdlog::info("reverse_connect: connected back to {}", attempt.describe());
            co_return;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            failures += "\n  " + attempt.describe() + ": " + e.error().to_string();
        }
    }
    spdlog::info("reverse_connect: could not connect back to the caller:{}", failures.empty() ? " no common address" : failures);
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
    if (!ctx.has_signaling()) {
        why_not = "signaling is off";
        return {};
    }
    if (!has_mqtt_hint(peer)) {
        why_not = "the peer's address names no MQTT broker";
        return {};
    }
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

void ReverseConnect::serve(PluginContext& ctx) {
    ctx.on_signal([&ctx](PluginSignal message) {
        auto request = decode_connect_back(message.payload);
        if (!request) {
            spdlog::info("reverse_connect: bad connect_back request: {}", request.error().to_string());
            return;
        }
        auto caller = parse_address(request->caller_address);
        if (!caller) {
            spdlog::info("reverse_connect: bad caller address in connect_back: {}", caller.error().to_string());
            return;
        }
        // The address must be the signer's own: nobody makes us dial a third party.
        if (caller->public_key != message.sender) {
            spdlog::info("reverse_connect: a connect_back names another node's address: ignored");
            return;
        }
        ctx.spawn(dial_back(ctx, std::move(*caller), std::move(*request)), "reverse_connect dial back");
    });
}

}  // namespace warpgate::traversal
