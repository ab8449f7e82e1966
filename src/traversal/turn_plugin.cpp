#include "traversal/turn_plugin.hpp"

#include <algorithm>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <map>
#include "log.hpp"

#include "crypto/identity.hpp"
#include "net/resolve.hpp"
#include "net/timeout.hpp"
#include "proto/turn_client.hpp"
#include "traversal/offer_admission.hpp"
#include "traversal/signal_reach.hpp"
#include "traversal/turn_common.hpp"
#include "traversal/turn_relay.hpp"
#include "traversal/turn_signal.hpp"
#include "traversal/turn_tcp_relay.hpp"

namespace warpgate::traversal {

using SteadyClock = std::chrono::steady_clock;

namespace {

double ms_since(SteadyClock::time_point begin) { return std::chrono::duration<double, std::milli>(SteadyClock::now() - begin).count(); }

bool is_ip_literal(const std::string& host) {
    asio::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

turn::ClientOptions client_options(const NodeConfig& conf, const TurnServer& server, Endpoint at, Family family) {
    turn::ClientOptions o;
    o.server = at;
    o.transport = server.transport;
    o.username = server.user;
    o.password = server.password;
    o.tls.ca_file = server.ca_file;
    // A named server's certificate is checked against its name, an IP's against the IP.
    if (!is_ip_literal(server.server.host)) o.tls.server_name = server.server.host;
    o.family = family;
    o.udp = stun::RetransmitPolicy::within(conf.connect_timeout);
    o.stream_timeout = conf.connect_timeout;
    o.connect_timeout = conf.connect_timeout;
    return o;
}

}  // namespace

// An allocation with a relayed address of `family` on the first configured server that
// grants one, in order. Errc::unreachable with every server's failure; Errc::unsupported when
// every server relays no address of the family (440).
asio::awaitable<std::shared_ptr<turn::Client>> allocate_first(PluginContext& ctx, Family family, Transport relay) {
    auto& conf = ctx.config();
    if (conf.turn_servers.empty()) throw Exception(Errc::unreachable, "no TURN server is configured");
    std::string failures;
    bool only_440 = true;
    for (auto& server : conf.turn_servers) {
        if (relay == TCP && server.transport != TurnTransport::tcp) {
            failures += "; " + server.server.to_string() + ": " + tcp_relay_unavailable(server.transport);
            continue;
        }
        auto resolved = co_await net::resolve(ctx.executor(), server.server, std::nullopt, conf.connect_timeout);
        if (!resolved) {
            if (resolved.error().code == Errc::cancelled) throw Exception(resolved.error());
            failures += "; " + server.server.to_string() + ": " + resolved.error().message;
            only_440 = false;
            continue;
        }
        try {
            auto options = client_options(conf, server, resolved->front(), family);
            options.relay = relay;
            auto client = co_await turn::Client::allocate(ctx.executor(), std::move(options));
            co_return client;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            failures += "; " + server.server.to_string() + " over " + to_string(server.transport) + ": " + e.error().message;
            only_440 = only_440 && e.errc() == Errc::unsupported;
        }
    }
    throw Exception(only_440 ? Errc::unsupported : Errc::unreachable, "no TURN allocation" + failures);
}

namespace {

Family other(Family family) { return family == IP6 ? IP4 : IP6; }

// The relayed address family to offer: the callee allocates the same one (a relay sends only
// to peers of its allocation's family), so an IPv6-only peer, whose network and TURN server
// may have no IPv4 at all, gets IPv6; everyone else IPv4, which every TURN server relays.
Family relay_family(const NodeAddress& peer) { return peer.v4.empty() && !peer.v6.empty() ? IP6 : IP4; }

// The callee's side of one offer.
asio::awaitable<void> respond(PluginContext& ctx, std::shared_ptr<TurnTable> table, TurnPluginOptions options, Bytes sender,
                              TurnMessage offer) {
    auto begin = SteadyClock::now();
    auto who = crypto::node_id(sender);
    auto caller = parse_address(offer.caller_address);
    if (!caller || caller->public_key != sender) {
        log::info("turn: offer from {} names {}: ignored", who, caller ? "another node's address" : caller.error().to_string());
        co_return;
    }
    std::string refusal = table->admit(sender);
    std::shared_ptr<TurnPath> path;
    if (refusal.empty()) {
        TurnTable::Allocating slot(table);
        try {
            auto client = co_await allocate_first(ctx, offer.relayed.ip.is_v6() ? IP6 : IP4);
            HeldAllocation held(client);
            // The channel brings the permission: the initiator's hello can come in.
            path = co_await TurnPath::open(client, offer.relayed);
            held.release();
            table->track(client);
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            refusal = e.error().message;
        }
    }
    if (!refusal.empty()) {
        log::info("turn: declined {}'s offer: {}", who, refusal);
        auto bytes = decline(offer.con_id, refusal);
        co_await ctx.signal(*caller, bytes);
        co_return;
    }
    ctx.accept_path(path);  // read from now on: the hello goes to the acceptor
    // Who holds the path now: this wait and the path's own reader. A session that takes it
    // (the acceptor makes one for the hello) holds it too, and closes it when it ends.
    auto unclaimed = path.use_count();
    // Unless a session took it by then, the path goes when this ends, also when cancelled
    // (the node closes) while the answer is sent: its reader holds it, and with it the
    // allocation and the allocation's timers, for as long as it stays open.
    struct CloseUnclaimed {
        std::shared_ptr<TurnPath>& path;
        long unclaimed;
        ~CloseUnclaimed() {
            if (path.use_count() <= unclaimed) path->close();
        }
    } close_unclaimed{path, unclaimed};
    TurnMessage answer;
    answer.kind = TurnKind::answer;
    answer.con_id = offer.con_id;
    answer.relayed = path->local();
    auto bytes = encode_turn(answer);
    co_await ctx.signal(*caller, bytes);
    log::debug("turn: answered {} with relayed {} after {:.1f} ms", who, answer.relayed.to_string(), ms_since(begin));
    co_await sleep_for(options.hello_timeout);
    if (path.use_count() <= unclaimed && path->is_open())
        log::info("turn: no link from {} over relayed {} within {}: deallocated", who, answer.relayed.to_string(),
                     net::describe(options.hello_timeout));
}

}  // namespace

TurnPlugin::TurnPlugin(TurnPluginOptions options) : options_(options), table_(std::make_shared<TurnTable>(options_)) {}

std::vector<Attempt> TurnPlugin::plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) {
    auto& servers = ctx.config().turn_servers;
    if (servers.empty()) {
        why_not = "no TURN server is configured (turn_servers)";
        return {};
    }
    why_not = why_cannot_signal(ctx, peer);
    if (!why_not.empty()) return {};
    if (transport == TCP) return plan_tcp_relay(servers, why_not);
    Endpoint first;
    if (auto parsed = Endpoint::parse(servers.front().server.to_string())) first = *parsed;
    return {Attempt{std::string(name()), UDP, relay_family(peer), Route::external, first, {}}};
}

asio::awaitable<Reached> TurnPlugin::attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) {
    if (attempt.transport == TCP) co_return co_await attempt_tcp_relay(ctx, *table_, options_, peer, attempt);
    auto begin = SteadyClock::now();
    std::shared_ptr<turn::Client> client;
    std::string refused_family;
    try {
        auto granted = co_await allocate_first(ctx, attempt.family);
        client = std::move(granted);
    } catch (const Exception& e) {
        if (e.errc() != Errc::unsupported) throw;
        refused_family = e.error().message;
    }
    // Our servers relay no address of the family planned (440): the other family, which the
    // callee then allocates too (it declines, saying why, when its server cannot).
    if (!client) {
        log::info("turn: {}: trying {} instead", refused_family, other(attempt.family) == IP6 ? "IPv6" : "IPv4");
        auto granted = co_await allocate_first(ctx, other(attempt.family));
        client = std::move(granted);
    }
    HeldAllocation held(client);
    auto allocated_ms = ms_since(begin);
    TurnMessage offer;
    offer.kind = TurnKind::offer;
    offer.con_id = attempt.con_id;
    offer.relayed = client->relayed();
    offer.caller_address = ctx.own_address_bytes();
    auto box = table_->expect(offer.con_id, peer.public_key, ctx.executor());
    auto bytes = encode_turn(offer);
    co_await ctx.signal(peer, bytes);
    auto answer = co_await receive_answer(*box, options_.answer_timeout);
    if (answer.kind == TurnKind::decline) throw Exception(Errc::refused, "the peer declined the relay: " + answer.reason);
    if (answer.kind != TurnKind::answer) throw Exception(Errc::malformed, "the peer answered the offer with another kind of message");
    auto path = co_await TurnPath::open(client, answer.relayed);
    held.release();
    log::debug("turn: {} relayed {} -> {} (allocated in {:.1f} ms, answered after {:.1f} ms)", client->describe(),
                  offer.relayed.to_string(), answer.relayed.to_string(), allocated_ms, ms_since(begin));
    co_return Reached{std::move(path), nullptr};
}

void TurnPlugin::serve(PluginContext& ctx) {
    if (!ctx.has_signaling()) return;
    ctx.on_signal([&ctx, table = table_, options = options_](PluginSignal signal) {
        auto message = decode_turn(signal.payload);
        if (!message) {
            log::info("turn: malformed message from {}: {}", crypto::node_id(signal.sender), message.error().to_string());
            return;
        }
        if (message->kind == TurnKind::offer) {
            ctx.spawn(respond(ctx, table, options, std::move(signal.sender), std::move(*message)), "turn respond");
            return;
        }
        if (message->kind == TurnKind::tcp_offer) {
            ctx.spawn(respond_tcp_relay(ctx, table, options, std::move(signal.sender), std::move(*message)), "turn respond tcp");
            return;
        }
        table->deliver(signal.sender, std::move(*message));
    });
}

}  // namespace warpgate::traversal
