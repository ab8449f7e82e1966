#include "traversal/tcp_punch.hpp"

#include <algorithm>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include "log.hpp"

#include "crypto/identity.hpp"
#include "crypto/random.hpp"
#include "net/task_group.hpp"
#include "net/timeout.hpp"
#include "session/path.hpp"
#include "traversal/offer_admission.hpp"
#include "traversal/port_prediction.hpp"
#include "traversal/signal_reach.hpp"
#include "traversal/tcp_punch_message.hpp"

namespace warpgate::traversal {

using SteadyClock = std::chrono::steady_clock;

// The messages a punch waits for, by role and connection id: the initiator waits for the
// answer, the responder for the go. A message counts only from the expected sender with the
// punch's nonce (a decline ends either wait).
class PunchTable {
public:
    enum class Role : std::uint8_t { initiator, responder };

    explicit PunchTable(const TcpPunchOptions& options)
        : admission_(options.offers_per_key, options.offers_total, options.max_responding, "punches in progress") {}

    // Held while the responder's side of one punch runs.
    class Responding {
    public:
        explicit Responding(std::shared_ptr<PunchTable> table) : table_(std::move(table)) { ++table_->responding_; }
        ~Responding() { --table_->responding_; }
        Responding(const Responding&) = delete;
        Responding& operator=(const Responding&) = delete;

    private:
        std::shared_ptr<PunchTable> table_;
    };

    // Why an offer from `sender` is not answered now (empty: admitted, counted in the limits).
    std::string admit(const Bytes& sender) { return admission_.admit(sender, responding_); }

    struct Mailbox {
        explicit Mailbox(asio::any_io_executor ex) : arrived(ex) {}
        Bytes sender;
        PunchNonce nonce{};
        std::optional<PunchMessage> message;
        asio::steady_timer arrived;
    };

    // Registered until the returned handle is destroyed.
    std::shared_ptr<Mailbox> expect(Role role, const ConnectionId& id, const PunchNonce& nonce, const Bytes& sender,
                                    asio::any_io_executor ex) {
        auto box = std::shared_ptr<Mailbox>(new Mailbox(ex), [this, role, id](Mailbox* m) {
            boxes_.erase({role, id});
            delete m;
        });
        box->sender = sender;
        box->nonce = nonce;
        boxes_[{role, id}] = box.get();
        return box;
    }

    void deliver(Role role, const Bytes& sender, PunchMessage message) {
        auto it = boxes_.find({role, message.con_id});
        if (it == boxes_.end()) return;
        auto* box = it->second;
        if (box->sender != sender || box->nonce != message.nonce || box->message) return;
        box->message = std::move(message);
        box->arrived.cancel();
    }

private:
    std::map<std::pair<Role, ConnectionId>, Mailbox*> boxes_;
    OfferAdmission admission_;
    std::size_t responding_ = 0;
};

namespace {

using Role = PunchTable::Role;

double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The message in `box`, or Errc::timeout after `timeout` (Errc::cancelled when cancelled).
asio::awaitable<PunchMessage> receive(PunchTable::Mailbox& box, std::chrono::milliseconds timeout, std::string_view what) {
    auto deadline = SteadyClock::now() + timeout;
    while (!box.message) {
        if (SteadyClock::now() >= deadline) throw Exception(Errc::timeout, fmt::format("no {} within {}", what, net::describe(timeout)));
        box.arrived.expires_at(deadline);
        asio::error_code ec;
        co_await box.arrived.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto stop = co_await net::cancelled();
        if (stop) throw Exception(Errc::cancelled, fmt::format("waiting for the {} cancelled", what));
    }
    co_return *box.message;
}

asio::awaitable<void> sleep_for(std::chrono::nanoseconds d) {
    if (d <= std::chrono::nanoseconds::zero()) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto stop = co_await net::cancelled();
    if (stop) throw Exception(Errc::cancelled, "punch cancelled");
}

// Where this node's next TCP flows leave its NAT.
struct OwnSide {
    asio::ip::address ip;
    std::vector<std::uint16_t> ports;
    // A NAT that gives every flow its next port maps any local port alike: such a side dials
    // from fresh ports, so no old connection's TIME_WAIT (or a half-closed one the NAT
    // forgot) on the listen port's 4-tuple can keep its SYN from leaving.
    bool any_local_port = false;
};

asio::awaitable<OwnSide> predict_own(PluginContext& ctx, Family family, std::size_t max_candidates) {
    auto& entries = ctx.own_address().entries(family);
    if (entries.empty()) throw Exception(Errc::unreachable, fmt::format("no {} address of ours", to_string(family)));
    auto& entry = entries.front();
    if (auto why = why_unpredictable(entry.nat); !why.empty()) throw Exception(Errc::unsupported, "our side: " + why);
    OwnSide own{entry.external_ip, {}, entry.nat.delta_type == DeltaType::independent};
    std::optional<nat::PortSample> observed;
    if (needs_fresh_mapping(entry.nat)) {
        // A mapping made now, from another local port (0: not the listen port), is the last
        // one before the punch's own flows.
        auto fresh = co_await ctx.fresh_mapping(TCP, family);
        observed = nat::PortSample{0, fresh.port};
        own.ip = fresh.ip;
    }
    auto predicted = predict_ports(entry.nat, entry.port, observed, max_candidates);
    if (predicted.empty()) throw Exception(Errc::unsupported, "our side: " + predicted.why_none);
    own.ports = std::move(predicted.ports);
    co_return own;
}

PeerClock own_clock(const PluginContext& ctx) {
    auto reading = ctx.clock();
    return {reading.uncertainty, reading.synced};
}

std::vector<Endpoint> targets_of(const PunchMessage& m) {
    std::vector<Endpoint> out;
    for (auto port : m.ports) out.push_back({m.ip, port});
    return out;
}

std::string list(const std::vector<Endpoint>& targets) {
    std::string out;
    for (auto& t : targets) out += (out.empty() ? "" : ", ") + t.to_string();
    return out;
}

// One side's connects. Completed connections go to `sink`; the punch ends at the window's
// end, or `linger` after the first connection (zero: at once).
struct Punch {
    Punch(asio::any_io_executor ex, std::function<void(PathPtr)> on_path, SteadyClock::time_point end, std::chrono::milliseconds after_first)
        : wake(ex), sink(std::move(on_path)), deadline(end), linger(after_first) {}
    asio::steady_timer wake;
    std::function<void(PathPtr)> sink;
    SteadyClock::time_point deadline;
    std::chrono::milliseconds linger;
    std::size_t connected = 0;
    bool over = false;
    std::string failures;

    // A connection completed (by our connect, or the peer's reaching our listener).
    void deliver(PathPtr path) {
        if (over) {
            path->close();
            return;
        }
        if (++connected == 1) deadline = std::min(deadline, SteadyClock::now() + linger);
        sink(std::move(path));
        wake.cancel();
    }
};

// How one side fires: from its listen port (re-fired on the same 4-tuple), or, when its NAT
// maps every flow anew, once from a fresh port (a re-fire would be a new flow, a new port).
struct Firing {
    bool from_listen_port = true;
    std::chrono::milliseconds refire{20};
    std::chrono::milliseconds resend = std::chrono::milliseconds::max();
};

asio::awaitable<PathPtr> fire(PluginContext& ctx, const Firing& how, Endpoint target) {
    if (how.from_listen_port) {
        auto path = co_await ctx.dial_from_listen_port(TCP, target, how.resend);
        co_return path;
    }
    auto path = co_await ctx.dial(TCP, target);
    co_return path;
}

asio::awaitable<void> connect_one(PluginContext& ctx, std::shared_ptr<Punch> punch, Endpoint target, std::chrono::nanoseconds delay,
                                  Firing how) {
    co_await sleep_for(delay);
    while (!punch->over && SteadyClock::now() < punch->deadline) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(punch->deadline - SteadyClock::now());
        try {
            // (The re-fire's deadline is the connect's own: one that met the peer's SYN by
            // then goes on, as closing it would hold the 4-tuple in FIN_WAIT.)
            auto path = co_await net::with_timeout(fire(ctx, how, target), left, "connecting to " + target.to_string());
            punch->deliver(std::move(path));
            co_return;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            // No answer within a few round trips: the peer's SYN met this one in flight, or
            // was discarded here (a socket reusing a TIME_WAIT keeps its timestamps). A new
            // socket on the same 4-tuple sends a new SYN at once (the kernel would wait 1 s);
            // the NAT keeps the flow's mapping, as the old socket left without a RST.
            if (e.errc() == Errc::timeout && how.from_listen_port) continue;
            if (e.errc() == Errc::timeout) co_return;
            if (punch->failures.size() < 600) punch->failures += "; " + e.error().message;
            // The 4-tuple is taken: the peer's SYN reached our listener (the initiator's claim
            // takes that connection, accepted before or after the claim), or an old
            // connection's TIME_WAIT holds it (the peer's SYN will then reach our listener).
            if (e.errc() == Errc::address_in_use) co_return;
        }
        // Refused (a RST), unreachable (ICMP): fire again shortly.
        if (!how.from_listen_port) co_return;
        co_await sleep_for(how.refire);
    }
}

// Connects to every target from the listen port, the k-th at start + k * pace. The initiator
// also takes what its listener accepts from the targets meanwhile: it introduces on
// whichever half of the open completes, the responder's acceptor serves either.
asio::awaitable<std::size_t> run_punch(PluginContext& ctx, const std::vector<Endpoint>& targets, std::chrono::system_clock::time_point start,
                                       std::chrono::nanoseconds window, std::chrono::nanoseconds signal_rtt, const TcpPunchOptions& options,
                                       std::chrono::milliseconds linger, bool initiator, bool any_local_port,
                                       std::function<void(PathPtr)> sink, std::string& failures) {
    // Only the initiator re-fires unanswered connects: its SYN is the one a discarded
    // responder SYN waits for (it passes the responder's mapping), while a responder that
    // re-fired could close a socket in the middle of the open (measured: the initiator then
    // answered every later SYN with a RST). The signaling round trip (through a broker)
    // bounds the direct one from above.
    Firing how{!any_local_port, options.refire, std::chrono::milliseconds::max()};
    if (initiator && how.from_listen_port)
        how.resend = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(2 * signal_rtt), options.resend_min, options.resend_max);
    auto wait = time_until(start, ctx.clock());
    auto begin = SteadyClock::now() + wait;
    auto punch = std::make_shared<Punch>(ctx.executor(), std::move(sink),
                                         begin + std::chrono::duration_cast<SteadyClock::duration>(window), linger);
    std::vector<std::unique_ptr<PluginContext::InboundClaim>> claims;
    if (initiator)
        for (auto& t : targets) claims.push_back(ctx.claim_inbound(t, [punch](PathPtr path) { punch->deliver(std::move(path)); }));
    net::TaskGroup connects(ctx.executor());
    for (std::size_t k = 0; k < targets.size(); ++k)
        connects.spawn(connect_one(ctx, punch, targets[k], wait + k * options.pace, how), "tcp_punch connect");
    while (!punch->over && SteadyClock::now() < punch->deadline && (connects.size() > 0 || initiator)) {
        punch->wake.expires_at(punch->deadline);
        asio::error_code ec;
        co_await punch->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto stop = co_await net::cancelled();
        if (stop) {
            punch->over = true;
            throw Exception(Errc::cancelled, "punch cancelled");
        }
        if (linger == std::chrono::milliseconds::zero() && punch->connected > 0) break;
    }
    punch->over = true;
    connects.cancel_all();
    co_await connects.wait();
    failures = punch->failures;
    co_return punch->connected;
}

Bytes decline(const PunchMessage& of, std::string reason) {
    PunchMessage m;
    m.kind = PunchKind::decline;
    m.con_id = of.con_id;
    m.nonce = of.nonce;
    m.reason = std::move(reason);
    return encode_punch(m);
}

asio::awaitable<void> turn_down(PluginContext& ctx, const NodeAddress& caller, const PunchMessage& offer, const std::string& who,
                                std::string reason) {
    log::info("tcp_punch: declined {}'s offer: {}", who, reason);
    co_await ctx.signal(caller, decline(offer, std::move(reason)));
}

// The responder's side of one offer.
asio::awaitable<void> respond(PluginContext& ctx, std::shared_ptr<PunchTable> table, TcpPunchOptions options, Bytes sender,
                              PunchMessage offer) {
    auto who = crypto::node_id(sender);
    auto caller = parse_address(offer.caller_address);
    if (!caller || caller->public_key != sender) {
        log::info("tcp_punch: offer from {} names {}: ignored", who, caller ? "another node's address" : caller.error().to_string());
        co_return;
    }
    std::string refusal = table->admit(sender);
    if (!refusal.empty()) {
        co_await turn_down(ctx, *caller, offer, who, refusal);
        co_return;
    }
    PunchTable::Responding held(table);
    auto family = offer.ip.is_v6() ? IP6 : IP4;
    auto targets = targets_of(offer);
    for (auto& t : targets)
        if (auto why = ctx.why_not_dial(t); !why.empty()) refusal = fmt::format("we may not dial {} ({})", t.to_string(), why);
    PunchMessage answer;
    answer.kind = PunchKind::answer;
    answer.con_id = offer.con_id;
    answer.nonce = offer.nonce;
    answer.clock = own_clock(ctx);
    bool any_local_port = false;
    if (refusal.empty()) {
        try {
            auto own = co_await predict_own(ctx, family, options.max_candidates);
            answer.ip = own.ip;
            answer.ports = std::move(own.ports);
            any_local_port = own.any_local_port;
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            refusal = e.error().message;
        }
    }
    if (!refusal.empty()) {
        co_await turn_down(ctx, *caller, offer, who, refusal);
        co_return;
    }
    auto box = table->expect(Role::responder, offer.con_id, offer.nonce, sender, ctx.executor());
    co_await ctx.signal(*caller, encode_punch(answer));
    auto go = co_await receive(*box, ctx.config().connect_timeout, "start instant from the initiator");
    if (go.kind == PunchKind::decline) {
        log::info("tcp_punch: {} called the punch off: {}", who, go.reason);
        co_return;
    }
    if (go.kind != PunchKind::go) co_return;
    std::string failures;
    auto window = std::min<std::chrono::nanoseconds>(go.window, options.budget.window + 2 * options.budget.max_uncertainty);
    // The initiator fires first: its SYN makes its mapping before ours arrives there, and
    // where nothing filters our side it reaches our listener, which is fine (the initiator
    // introduces on it). Firing first ourselves could land our SYN on the initiator's
    // listener before its own connect exists, which nobody introduces on.
    auto lag = counted_uncertainty(own_clock(ctx), options.budget) + counted_uncertainty(offer.clock, options.budget) + options.lag;
    auto start = go.start + std::chrono::duration_cast<std::chrono::system_clock::duration>(lag);
    auto connected = co_await run_punch(ctx, targets, start, window, std::chrono::nanoseconds::zero(), options, options.grace, false, any_local_port,
                                        [&ctx](PathPtr path) { ctx.accept_path(std::move(path)); }, failures);
    if (connected == 0)
        log::info("tcp_punch: no connection to {} at {}{}", who, list(targets), failures);
    else
        log::info("tcp_punch: {} connection(s) with {} handed to the listener", connected, who);
}

}  // namespace

TcpPunch::TcpPunch(TcpPunchOptions options) : options_(options), table_(std::make_shared<PunchTable>(options_)) {}

std::vector<Attempt> TcpPunch::plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) {
    if (transport != TCP) {
        why_not = "tcp_punch punches TCP only";
        return {};
    }
    if (!ctx.config().enable_punching) {
        why_not = "hole punching is disabled (enable_punching)";
        return {};
    }
    why_not = why_cannot_signal(ctx, peer);
    if (!why_not.empty()) return {};
    std::vector<Attempt> attempts;
    std::string reasons;
    for (auto family : ctx.supported()) {
        auto& theirs = peer.entries(family);
        auto& ours = ctx.own_address().entries(family);
        if (theirs.empty() || ours.empty()) continue;
        auto why = why_unpredictable(ours.front().nat);
        if (!why.empty()) why = "our side: " + why;
        else if (auto peer_why = why_unpredictable(theirs.front().nat); !peer_why.empty()) why = "the peer's side: " + peer_why;
        if (!why.empty()) {
            reasons += (reasons.empty() ? "" : "; ") + fmt::format("{}: {}", to_string(family), why);
            continue;
        }
        attempts.push_back({std::string(name()), TCP, family, Route::external, Endpoint{theirs.front().external_ip, theirs.front().port}, {}});
    }
    if (attempts.empty()) why_not = reasons.empty() ? "no address family in common with the peer" : reasons;
    return attempts;
}

asio::awaitable<Reached> TcpPunch::attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) {
    auto own = co_await predict_own(ctx, attempt.family, options_.max_candidates);
    PunchMessage offer;
    offer.kind = PunchKind::offer;
    offer.con_id = attempt.con_id;
    crypto::random_bytes(offer.nonce);
    offer.ip = own.ip;
    offer.ports = own.ports;
    offer.clock = own_clock(ctx);
    offer.caller_address = ctx.own_address_bytes();
    auto box = table_->expect(Role::initiator, offer.con_id, offer.nonce, peer.public_key, ctx.executor());
    auto sent = SteadyClock::now();
    co_await ctx.signal(peer, encode_punch(offer));
    auto answer = co_await receive(*box, ctx.config().connect_timeout, "answer from the peer");
    auto rtt = SteadyClock::now() - sent;
    if (answer.kind == PunchKind::decline) throw Exception(Errc::refused, "the peer declined the punch: " + answer.reason);
    if (answer.kind != PunchKind::answer) throw Exception(Errc::malformed, "the peer answered the offer with another kind of message");
    auto schedule = schedule_punch(ctx.clock(), answer.clock, rtt, options_.budget);
    if (!schedule) {
        co_await ctx.signal(peer, decline(offer, schedule.error().message));
        throw Exception(schedule.error());
    }
    PunchMessage go;
    go.kind = PunchKind::go;
    go.con_id = offer.con_id;
    go.nonce = offer.nonce;
    go.start = schedule->start;
    go.window = std::chrono::ceil<std::chrono::milliseconds>(schedule->window);
    co_await ctx.signal(peer, encode_punch(go));
    auto targets = targets_of(answer);
    log::debug("tcp_punch: round trip {:.1f} ms, start {}; ours {} -> {}", ms(rtt), schedule->describe(), fmt::join(own.ports, ","),
                  list(targets));
    PathPtr first;
    std::string failures;
    co_await run_punch(ctx, targets, schedule->start, schedule->window, rtt, options_, std::chrono::milliseconds::zero(), true, own.any_local_port,
                       [&first](PathPtr path) {
                           if (!first) first = std::move(path);
                           else path->close();
                       },
                       failures);
    if (!first)
        throw Exception(Errc::timeout, fmt::format("no simultaneous open with {} within {:.0f} ms (ports ours {}){}", list(targets),
                                                   ms(schedule->window), fmt::join(own.ports, ","), failures));
    co_return Reached{std::move(first), nullptr};
}

void TcpPunch::serve(PluginContext& ctx) {
    if (!ctx.has_signaling()) return;
    ctx.on_signal([&ctx, table = table_, options = options_](PluginSignal signal) {
        auto message = decode_punch(signal.payload);
        if (!message) {
            log::info("tcp_punch: malformed message from {}: {}", crypto::node_id(signal.sender), message.error().to_string());
            return;
        }
        if (message->kind == PunchKind::offer) {
            ctx.spawn(respond(ctx, table, options, std::move(signal.sender), std::move(*message)), "tcp_punch respond");
            return;
        }
        // A decline ends whichever wait it belongs to: an initiator's for the answer, or a
        // responder's for the go.
        if (message->kind == PunchKind::decline || message->kind == PunchKind::answer)
            table->deliver(Role::initiator, signal.sender, *message);
        if (message->kind == PunchKind::decline || message->kind == PunchKind::go)
            table->deliver(Role::responder, signal.sender, *message);
    });
}

}  // namespace warpgate::traversal
