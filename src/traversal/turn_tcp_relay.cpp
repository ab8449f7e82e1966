#include "traversal/turn_tcp_relay.hpp"

#include <fmt/format.h>
#include "log.hpp"

#include "crypto/identity.hpp"
#include "net/timeout.hpp"
#include "proto/stun_client.hpp"
#include "proto/turn_data_connection.hpp"
#include "session/path.hpp"

namespace warpgate::traversal {

namespace {

using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point begin) { return std::chrono::duration<double, std::milli>(SteadyClock::now() - begin).count(); }

// The initiator's address as its first TURN server reached over TCP sees a TCP connection
// from it: the IP its connection to the callee's relayed address will come from, which is
// what the callee's permission is for (RFC 8656 §9: permissions are per IP).
asio::awaitable<Endpoint> address_seen_by_turn(PluginContext& ctx) {
    auto& conf = ctx.config();
    std::string failures;
    for (auto& server : conf.turn_servers) {
        if (!tcp_relay_unavailable(server.transport).empty()) continue;
        auto at = co_await stun::resolve_server(ctx.executor(), server.server, IP4, conf.connect_timeout);
        if (!at) {
            if (at.error().code == Errc::cancelled) throw Exception(at.error());
            failures += "; " + at.error().message;
            continue;
        }
        stun::ClientOptions options;
        options.tcp_timeout = conf.connect_timeout;
        Endpoint any_port{asio::ip::address_v4::any(), 0};  // (GCC 12: no braced temporary in a co_await)
        auto seen = co_await stun::tcp_binding(ctx.executor(), any_port, *at, options);
        if (seen) co_return seen->response.mapped;
        if (seen.error().code == Errc::cancelled) throw Exception(seen.error());
        failures += "; " + server.server.to_string() + ": " + seen.error().message;
    }
    throw Exception(Errc::unreachable, "no TURN server over TCP told our address" + failures);
}

// One offer's TCP allocation on the callee's side, and the peer connection bound to it.
struct TcpRelayOffer {
    std::shared_ptr<turn::Client> client;
    std::shared_ptr<HeldAllocation> held;  // until the data connection's path takes it
    asio::ip::address caller_ip;
    bool bound = false;                    // a peer connection was taken: later ones are ignored
    std::shared_ptr<session::TcpPath> path;
    long unclaimed = 0;                    // the path's holders before a session takes it
};

asio::awaitable<void> bind_peer_connection(PluginContext& ctx, std::shared_ptr<TcpRelayOffer> offer, turn::ConnectionAttempt attempt,
                                           std::string who) {
    auto begin = SteadyClock::now();
    std::optional<Error> failure;
    try {
        auto socket = co_await turn::bind_data_connection(*offer->client, attempt.connection_id);
        auto path = std::make_shared<session::TcpPath>(std::move(socket));
        // The path keeps the allocation from now on: the relay ends with it.
        path->mark_relayed(std::move(offer->held));
        std::weak_ptr<session::TcpPath> weak = path;
        offer->client->on_end([weak](const Error&) {
            if (auto p = weak.lock()) p->close();
        });
        offer->path = path;
        ctx.accept_path(path);
        offer->unclaimed = path.use_count() - 1;  // this local goes
        log::debug("turn: {}'s connection {} from {} bound on {} in {:.1f} ms", who, attempt.connection_id, attempt.peer.to_string(),
                   offer->client->describe(), ms_since(begin));
    } catch (const Exception& e) {
        failure = e.error();
    }
    if (failure && failure->code != Errc::cancelled)
        log::info("turn: {}'s connection {} from {}: {}", who, attempt.connection_id, attempt.peer.to_string(), failure->message);
}

}  // namespace

std::string tcp_relay_unavailable(TurnTransport transport) {
    if (transport == TurnTransport::tcp) return {};
    if (transport == TurnTransport::udp) return "reached over UDP: a TCP relay needs a TCP connection to the server (RFC 6062)";
    return "reached over TLS: a TCP relay's data connections over TLS are not supported (use transport tcp)";
}

std::vector<Attempt> plan_tcp_relay(const std::vector<TurnServer>& servers, std::string& why_not) {
    std::string reasons;
    for (const auto& server : servers) {
        auto why = tcp_relay_unavailable(server.transport);
        if (why.empty()) {
            Endpoint target;
            if (auto parsed = Endpoint::parse(server.server.to_string())) target = *parsed;
            return {Attempt{"turn", TCP, IP4, Route::external, target, {}}};
        }
        reasons += (reasons.empty() ? "" : "; ") + server.server.to_string() + " " + why;
    }
    why_not = "no TURN server gives a TCP relay: " + reasons;
    return {};
}

asio::awaitable<Reached> attempt_tcp_relay(PluginContext& ctx, TurnTable& table, const TurnPluginOptions& options,
                                           const NodeAddress& peer, const Attempt& attempt) {
    auto begin = SteadyClock::now();
    TurnMessage offer;
    offer.kind = TurnKind::tcp_offer;
    offer.con_id = attempt.con_id;
    auto seen = co_await address_seen_by_turn(ctx);
    offer.relayed = seen;
    offer.caller_address = ctx.own_address_bytes();
    auto box = table.expect(offer.con_id, peer.public_key, ctx.executor());
    auto bytes = encode_turn(offer);
    co_await ctx.signal(peer, bytes);
    auto answer = co_await receive_answer(*box, options.answer_timeout);
    if (answer.kind == TurnKind::decline) throw Exception(Errc::refused, "the peer declined the TCP relay: " + answer.reason);
    if (answer.kind != TurnKind::answer) throw Exception(Errc::malformed, "the peer answered the tcp offer with another kind of message");
    auto answered_ms = ms_since(begin);
    auto path = co_await ctx.dial(TCP, answer.relayed);
    auto stream = std::dynamic_pointer_cast<session::TcpPath>(path);
    if (!stream) throw Exception(Errc::unsupported, "the socket factory dialled no TCP stream");
    stream->mark_relayed(nullptr);  // the allocation is the callee's
    log::debug("turn: TCP relayed {} (seen as {}) -> {} (answered after {:.1f} ms, connected after {:.1f} ms)",
               stream->local().to_string(), offer.relayed.to_string(), answer.relayed.to_string(), answered_ms, ms_since(begin));
    co_return Reached{std::move(path), nullptr};
}

asio::awaitable<void> respond_tcp_relay(PluginContext& ctx, std::shared_ptr<TurnTable> table, TurnPluginOptions options, Bytes sender,
                                        TurnMessage offer) {
    auto begin = SteadyClock::now();
    auto who = crypto::node_id(sender);
    auto caller = parse_address(offer.caller_address);
    if (!caller || caller->public_key != sender) {
        log::info("turn: tcp offer from {} names {}: ignored", who, caller ? "another node's address" : caller.error().to_string());
        co_return;
    }
    auto state = std::make_shared<TcpRelayOffer>();
    state->caller_ip = offer.relayed.ip;
    std::string refusal = table->admit(sender);
    if (refusal.empty()) {
        TurnTable::Allocating slot(table);
        try {
            auto client = co_await allocate_first(ctx, offer.relayed.ip.is_v6() ? IP6 : IP4, TCP);
            state->held = std::make_shared<HeldAllocation>(client);
            state->client = client;
            std::vector<Endpoint> peers{offer.relayed};
            co_await client->create_permission(peers);
            table->track(client);
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            refusal = e.error().message;
        }
    }
    if (!refusal.empty()) {
        log::info("turn: declined {}'s tcp offer: {}", who, refusal);
        auto bytes = decline(offer.con_id, refusal);
        co_await ctx.signal(*caller, bytes);
        co_return;
    }
    auto client = state->client;
    std::weak_ptr<TcpRelayOffer> weak = state;
    client->on_connection_attempt([&ctx, weak, who](const turn::ConnectionAttempt& attempt) {
        auto offer = weak.lock();
        if (!offer || offer->bound || attempt.peer.ip != offer->caller_ip) {
            log::debug("turn: ignored connection {} from {} to {}'s TCP relay", attempt.connection_id, attempt.peer.to_string(), who);
            return;
        }
        offer->bound = true;
        ctx.spawn(bind_peer_connection(ctx, offer, attempt, who), "turn tcp bind");
    });
    // Whatever happens below, this offer's allocation stays only with a path a session took.
    struct Finish {
        std::shared_ptr<TcpRelayOffer>& state;
        ~Finish() {
            state->client->on_connection_attempt(nullptr);
            if (state->path && state->path.use_count() <= state->unclaimed) state->path->close();
            state->held.reset();
        }
    } finish{state};
    TurnMessage answer;
    answer.kind = TurnKind::answer;
    answer.con_id = offer.con_id;
    answer.relayed = client->relayed();
    auto bytes = encode_turn(answer);
    co_await ctx.signal(*caller, bytes);
    log::debug("turn: answered {}'s tcp offer with relayed {} after {:.1f} ms", who, answer.relayed.to_string(), ms_since(begin));
    co_await sleep_for(options.hello_timeout);
    auto stop = co_await net::cancelled();
    if (stop) co_return;  // the node closes
    if (!state->path || (state->path.use_count() <= state->unclaimed && state->path->is_open()))
        log::info("turn: no link from {} over TCP relayed {} within {}: deallocated", who, answer.relayed.to_string(),
                  net::describe(options.hello_timeout));
}

}  // namespace warpgate::traversal
