#include "traversal/udp_punch.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include "log.hpp"

#include "crypto/identity.hpp"
#include "net/timeout.hpp"
#include "session/path.hpp"
#include "traversal/birthday.hpp"
#include "traversal/port_prediction.hpp"
#include "traversal/punch_schedule.hpp"
#include "traversal/signal_reach.hpp"
#include "traversal/punch_probe.hpp"
#include "traversal/udp_punch_message.hpp"
#include "traversal/udp_punch_plan.hpp"

namespace warpgate::traversal {

using Clock = std::chrono::steady_clock;
using Role = session::Punch::Role;
using Kind = session::Punch::Kind;
using namespace std::chrono_literals;

struct UdpPunch::Board {
    struct Waiter {
        Bytes peer_key;  // only this sender's messages count
        std::function<void(UdpPunchMessage)> deliver;
    };
    std::map<session::PunchToken, Waiter> waiting;
    std::size_t answering = 0;
    UdpPunchCounters counters;
};

namespace {

// Pacing and windows. A plain punch sends to each candidate every 50 ms (never two records
// closer than 2 ms), and probes for 2 s plus four signaling round trips (at most 8 s).
constexpr auto per_target_interval = 50ms;
constexpr auto min_send_gap = 2ms;
constexpr std::size_t max_reflexive = 16;  // peer-reflexive targets a punch adds (probes from new endpoints)
constexpr auto signal_budget = 5s;  // for an answer or an instant to arrive
constexpr auto linger_quiet = 500ms;  // the peer stopped probing: it locked (or gave up)
constexpr std::size_t predicted_candidates = 16;  // a stepping NAT's next ports offered

// A value that arrives once (from a callback), awaited with a deadline.
template <class T>
class Arrival {
public:
    explicit Arrival(asio::any_io_executor ex) : timer_(ex) {}
    void put(T value) {
        if (value_) return;
        value_ = std::move(value);
        timer_.cancel();
    }
    const std::optional<T>& value() const { return value_; }
    // nullopt at the deadline; throws Errc::cancelled.
    asio::awaitable<std::optional<T>> wait_until(Clock::time_point deadline) {
        while (!value_ && Clock::now() < deadline) {
            timer_.expires_at(deadline);
            asio::error_code ec;
            co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            auto stop = co_await net::cancelled();
            if (stop) throw Exception(Errc::cancelled, "udp_punch cancelled");
        }
        co_return value_;
    }
    void wake() { timer_.cancel(); }

private:
    asio::steady_timer timer_;
    std::optional<T> value_;
};

asio::awaitable<void> sleep_until(Clock::time_point when) {
    asio::steady_timer timer(co_await asio::this_coro::executor, when);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto stop = co_await net::cancelled();
    if (stop) throw Exception(Errc::cancelled, "udp_punch cancelled");
}

// Registered with the board while a punch waits for the peer's one reply (the offerer's
// answer, the answerer's instant), so signaling reaches it by token.
class Mailbox {
public:
    Mailbox(std::shared_ptr<UdpPunch::Board> board, const session::PunchToken& token, Bytes peer_key, asio::any_io_executor ex)
        : board_(std::move(board)), token_(token), arrival_(std::make_shared<Arrival<UdpPunchMessage>>(ex)) {
        std::weak_ptr<Arrival<UdpPunchMessage>> weak = arrival_;
        board_->waiting[token] = {std::move(peer_key), [weak](UdpPunchMessage m) {
                                      if (auto a = weak.lock()) a->put(std::move(m));
                                  }};
    }
    ~Mailbox() { board_->waiting.erase(token_); }
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;
    // The reply, or Errc::timeout; a decline throws Errc::refused with the peer's reason.
    asio::awaitable<UdpPunchMessage> receive(const char* what) {
        auto m = co_await arrival_->wait_until(Clock::now() + signal_budget);
        if (!m) throw Exception(Errc::timeout, fmt::format("udp_punch: no {} from the peer within {} ms", what, signal_budget / 1ms));
        if (m->type == UdpPunchMessage::Type::decline) throw Exception(Errc::refused, "the peer declined the UDP punch: " + m->reason);
        co_return *m;
    }

private:
    std::shared_ptr<UdpPunch::Board> board_;
    session::PunchToken token_;
    std::shared_ptr<Arrival<UdpPunchMessage>> arrival_;
};

// Probes from the listen socket and answers what arrives there: both sides of a plain punch,
// the easy side of birthday probing. Every valid probe is confirmed to wherever it came from,
// and a probe from an endpoint we did not aim at (a NAT that mapped the peer elsewhere) makes
// that endpoint a target too (peer-reflexive, at most max_reflexive of them).
class ListenProber : public std::enable_shared_from_this<ListenProber> {
public:
    ListenProber(PluginContext& ctx, const PunchSecret& secret, Role role, std::vector<Endpoint> targets, Clock::duration gap,
                 UdpPunchCounters& counters)
        : ctx_(ctx), auth_(secret, role), targets_(std::move(targets)), gap_(gap), counters_(counters), confirmed_(ctx.executor()) {}

    void start() {
        std::weak_ptr<ListenProber> weak = shared_from_this();
        tap_ = ctx_.tap_punch(auth_.token(), [weak](ByteView record, const Endpoint& from) {
            if (auto self = weak.lock()) self->on_record(record, from);
        });
    }

    // Probes the targets in order, round after round, from `begin` until a confirmation
    // arrives (its sender: the locked endpoint) or `end` (nullopt); with `quiet` set, also once
    // the peer's probes, heard before, stopped for that long (it locked first). Answering goes
    // on while the prober lives.
    asio::awaitable<std::optional<Endpoint>> run(Clock::time_point begin, Clock::time_point end,
                                                 std::optional<Clock::duration> quiet = std::nullopt) {
        co_await sleep_until(begin);
        auto went_quiet = [&] { return quiet && heard_ && Clock::now() >= last_probe_ + *quiet; };
        for (std::size_t i = 0; !confirmed_.value() && Clock::now() < end && !went_quiet(); ++i) {
            auto& target = targets_[i % targets_.size()];
            send(target, auth_.probe(0, target));
            auto next = co_await confirmed_.wait_until(std::min(end, Clock::now() + gap_));
            (void)next;
        }
        co_return confirmed_.value();
    }

    // Keeps confirming the peer's probes until none came for `quiet` (the peer stops probing
    // once it locked) or `end`; at least `quiet` from now: the probe that the peer's lock
    // waits for may be the next datagram.
    asio::awaitable<void> linger(Clock::time_point end, Clock::duration quiet) {
        last_probe_ = std::max(last_probe_, Clock::now());
        for (;;) {
            auto until = std::min(end, last_probe_ + quiet);
            if (Clock::now() >= until) co_return;
            co_await sleep_until(until);
        }
    }

    std::uint64_t sent() const { return sent_; }
    bool heard() const { return heard_; }

private:
    void send(const Endpoint& to, const Bytes& record) {
        if (tap_->send(to, record)) {
            ++sent_;
            ++counters_.probes_sent;
        }
    }

    void on_record(ByteView record, const Endpoint& from) {
        auto punch = auth_.open(record, 0, from);
        if (!punch) return;
        if (punch->kind == Kind::confirm) {
            confirmed_.put(from);
            return;
        }
        last_probe_ = Clock::now();
        heard_ = true;
        send(from, auth_.confirm(*punch));
        if (std::find(targets_.begin(), targets_.end(), from) != targets_.end() || reflexive_ >= max_reflexive) return;
        // Probed at once and in every round after (at the end, so that the order of first
        // contacts, which two sequential NATs align on, stays as agreed).
        ++reflexive_;
        targets_.push_back(from);
        send(from, auth_.probe(0, from));
    }

    PluginContext& ctx_;
    PunchAuth auth_;
    std::vector<Endpoint> targets_;
    Clock::duration gap_;
    UdpPunchCounters& counters_;
    Arrival<Endpoint> confirmed_;
    std::unique_ptr<PluginContext::PunchTap> tap_;
    std::size_t reflexive_ = 0;
    std::uint64_t sent_ = 0;
    Clock::time_point last_probe_ = Clock::now();
    bool heard_ = false;  // a valid probe of the peer's arrived
};

// The hard side of birthday probing: N sockets of their own, each aimed at the easy side's
// one endpoint, read here until one of them completes a probe/confirm round trip. Every
// socket but the winner is closed when the fan goes; the winner becomes the link's path.
class SocketFan : public std::enable_shared_from_this<SocketFan> {
public:
    SocketFan(PluginContext& ctx, const PunchSecret& secret, Role role, Endpoint easy, UdpPunchCounters& counters)
        : ctx_(ctx), auth_(secret, role), easy_(easy), counters_(counters), won_(ctx.executor()) {}
    SocketFan(const SocketFan&) = delete;
    SocketFan& operator=(const SocketFan&) = delete;

    // Opens the sockets from `begin`, paced, one probe each, then waits for a winner until
    // `end`: its path (owning its socket, aimed where the confirmation came from), or nullopt.
    asio::awaitable<PathPtr> run(Clock::time_point begin, Clock::time_point end) {
        struct Closer {
            SocketFan& fan;
            ~Closer() { fan.close_all(); }  // also when cancelled: the read loops end with them
        } closer{*this};
        co_await sleep_until(begin);
        for (std::size_t i = 0; i < birthday::sockets && !won_.value() && Clock::now() < end; ++i) {
            auto path = co_await ctx_.dial(UDP, easy_);
            paths_.push_back(std::static_pointer_cast<session::UdpPath>(path));
            ++counters_.sockets_opened;
            read(i);
            send(i, easy_, auth_.probe(i, easy_));
            auto next = co_await won_.wait_until(std::min(end, Clock::now() + birthday::socket_pace));
            (void)next;
        }
        // Sockets that heard a probe keep probing back until one is confirmed (loss).
        while (!won_.value() && Clock::now() < end) {
            for (auto i : heard_) send(i, easy_, auth_.probe(i, easy_));
            auto next = co_await won_.wait_until(std::min(end, Clock::now() + per_target_interval));
            (void)next;
        }
        if (!won_.value()) co_return nullptr;
        auto [index, from] = *won_.value();
        auto socket = paths_[index]->socket();
        paths_[index].reset();  // not closed with the others
        asio::error_code ec;
        socket->cancel(ec);  // this fan's read ends; the session's demultiplexer reads it next
        auto path = std::make_shared<session::UdpPath>(socket, from);
        path->own_socket();
        co_return path;
    }

    std::uint64_t sent() const { return sent_; }
    std::size_t opened() const { return paths_.size(); }

private:
    void send(std::size_t i, const Endpoint& to, const Bytes& record) {
        auto& path = paths_[i];
        if (!path) return;
        asio::error_code ec;
        path->socket()->send_to(asio::buffer(record.data(), record.size()), asio::ip::udp::endpoint(to.ip, to.port), 0, ec);
        ++sent_;
        ++counters_.probes_sent;
    }

    void read(std::size_t i) {
        asio::co_spawn(ctx_.executor(), [self = shared_from_this(), i, socket = paths_[i]->socket()]() { return self->read_loop(i, socket); },
                       asio::detached);
    }

    asio::awaitable<void> read_loop(std::size_t i, session::UdpSocketPtr socket) {
        std::array<std::uint8_t, 64> buffer{};
        asio::ip::udp::endpoint sender;
        while (socket->is_open() && !won_.value()) {
            asio::error_code ec;
            auto n = co_await socket->async_receive_from(asio::buffer(buffer), sender, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !socket->is_open() || won_.value()) break;
            if (ec) continue;  // ICMP residue of an earlier send
            Endpoint from{sender.address(), sender.port()};
            auto punch = auth_.open(ByteView(buffer.data(), n), i, from);
            if (!punch) continue;
            if (punch->kind == Kind::confirm) {
                won_.put({i, from});
                break;
            }
            send(i, from, auth_.confirm(*punch));
            send(i, from, auth_.probe(i, from));
            if (std::find(heard_.begin(), heard_.end(), i) == heard_.end()) heard_.push_back(i);
        }
    }

    void close_all() noexcept {
        for (auto& path : paths_)
            if (path) path->close();
    }

    PluginContext& ctx_;
    PunchAuth auth_;
    Endpoint easy_;
    UdpPunchCounters& counters_;
    Arrival<std::pair<std::size_t, Endpoint>> won_;
    std::vector<std::shared_ptr<session::UdpPath>> paths_;
    std::vector<std::size_t> heard_;
    std::uint64_t sent_ = 0;
};

const AddressEntry* entry_of(const NodeAddress& address, Family family) {
    auto& entries = address.entries(family);
    return entries.empty() ? nullptr : &entries.front();
}

// What this side advertises: its listen socket's external endpoint; for a NAT that steps its
// ports per flow, the next ports after a mapping made just now (flows of other hosts behind
// the same NAT may take some first, so several); for the hard side of birthday probing its
// address alone matters (the port is the listen port, never aimed at).
asio::awaitable<std::vector<Endpoint>> own_candidates(PluginContext& ctx, const AddressEntry& mine, Family family, bool hard) {
    std::vector<Endpoint> out;
    if (hard) {
        out.push_back({mine.external_ip, mine.port});
        co_return out;
    }
    if (needs_fresh_mapping(mine.nat)) {
        try {
            auto fresh = co_await ctx.fresh_mapping(UDP, family);
            auto prediction = predict_ports(mine.nat, mine.port, nat::PortSample{0, fresh.port}, predicted_candidates);
            for (auto port : prediction.ports) out.push_back({fresh.ip, port});
        } catch (const Exception& e) {
            if (e.errc() == Errc::cancelled) throw;
            log::info("udp_punch: no port prediction ({}): offering the listen socket's mapping", e.error().to_string());
        }
    }
    if (out.empty()) out.push_back(mine.external_endpoint());
    co_return out;
}

// The easy side's targets in birthday probing: random ports of the hard side's address.
std::vector<Endpoint> birthday_targets(const Endpoint& hard) {
    std::vector<Endpoint> out;
    for (auto port : birthday::random_ports(birthday::probes_for(birthday::sockets, birthday::target_probability)))
        out.push_back({hard.ip, port});
    return out;
}

Clock::duration plain_gap(std::size_t targets) {
    return std::max<Clock::duration>(min_send_gap, per_target_interval / std::max<std::size_t>(1, targets));
}

// How long both sides probe: a plain punch 2 s plus four round trips; birthday the hard
// side's socket fan, two sweeps of the easy side's probes and the same margin.
std::chrono::milliseconds window_for(PunchMode mode, Clock::duration rtt) {
    auto margin = 2s + 4 * std::chrono::duration_cast<std::chrono::milliseconds>(rtt);
    if (mode == PunchMode::plain) return std::min<std::chrono::milliseconds>(margin, 8s);
    auto fan = std::chrono::duration_cast<std::chrono::milliseconds>(birthday::socket_pace * birthday::sockets);
    auto sweep = std::chrono::duration_cast<std::chrono::milliseconds>(
        birthday::probe_pace * birthday::probes_for(birthday::sockets, birthday::target_probability));
    return std::min<std::chrono::milliseconds>(fan + 2 * sweep + margin, 12s);
}

// The easy side of birthday probing starts once the hard side's sockets are open and their
// first datagrams are out, plus a one-way delay, so that its probes find their mappings.
constexpr Clock::duration easy_delay = birthday::socket_pace * birthday::sockets + 250ms;

// The local steady instant of a wall-clock instant on the node's corrected clock.
Clock::time_point local_instant(PluginContext& ctx, std::uint64_t start_ms) {
    auto wall = std::chrono::system_clock::time_point(std::chrono::milliseconds(start_ms));
    return Clock::now() + time_until(wall, ctx.clock());
}

// This side's part of the punch, from `begin` for `window`. The introducer gets the path to
// introduce the link on; the other side gets null after `while_answering` returned, or (when
// empty) once the peer stopped probing: its listen socket keeps confirming until then.
struct Part {
    PunchMode mode;
    Role role;
    bool hard;        // this side is the random symmetric one (birthday)
    bool introducer;  // this side introduces the link
};

asio::awaitable<PathPtr> run_part(PluginContext& ctx, const PunchSecret& secret, const Part& part, const std::vector<Endpoint>& theirs,
                                  Clock::time_point begin, std::chrono::milliseconds window, UdpPunch::Board& board,
                                  const std::function<asio::awaitable<void>()>& while_answering) {
    auto end = begin + window;
    auto started = Clock::now();
    if (part.hard) {
        auto fan = std::make_shared<SocketFan>(ctx, secret, part.role, theirs.front(), board.counters);
        auto path = co_await fan->run(begin, end);
        log::info("udp_punch: birthday hard side: {} sockets, {} records sent, {} after {} ms", fan->opened(), fan->sent(),
                     path ? "locked " + path->describe() : std::string("no hit"),
                     std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
        if (!path) throw Exception(Errc::timeout, fmt::format("udp_punch: no birthday hit with {} sockets within {} ms", fan->opened(), window.count()));
        ++board.counters.locked;
        co_return path;
    }
    bool sweep = part.mode != PunchMode::plain;  // the easy side of birthday probing
    auto targets = sweep ? birthday_targets(theirs.front()) : theirs;
    auto gap = sweep ? Clock::duration(birthday::probe_pace) : plain_gap(targets.size());
    auto prober = std::make_shared<ListenProber>(ctx, secret, part.role, std::move(targets), gap, board.counters);
    prober->start();
    // The introducer waits for its own confirmation; the other side is done as well once the
    // peer, heard before, stopped probing (it locked on our confirmation first).
    std::optional<Clock::duration> quiet;
    if (!part.introducer) quiet = linger_quiet;
    auto locked = co_await prober->run(begin + (sweep ? easy_delay : Clock::duration(0)), end, quiet);
    log::info("udp_punch: {} records sent from the listen socket, {} after {} ms", prober->sent(),
                 locked ? "confirmed by " + locked->to_string() : std::string(prober->heard() ? "the peer went quiet" : "no confirmation"),
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
    if (!locked && !(quiet && prober->heard()))
        throw Exception(Errc::timeout, fmt::format("udp_punch: no confirmed probe within {} ms", window.count()));
    if (locked) ++board.counters.locked;
    if (part.introducer) {
        auto path = co_await ctx.dial_from_listen_port(UDP, *locked);
        co_return path;
    }
    if (while_answering) {
        co_await while_answering();
    } else {
        co_await prober->linger(end, linger_quiet);
    }
    co_return nullptr;
}

}  // namespace

UdpPunch::UdpPunch() : board_(std::make_shared<Board>()) {}

const UdpPunchCounters& UdpPunch::counters() const { return board_->counters; }

std::vector<Attempt> UdpPunch::plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) {
    if (transport != UDP) {
        why_not = "UDP only";
        return {};
    }
    why_not = why_cannot_signal(ctx, peer);
    if (!why_not.empty()) return {};
    std::vector<Attempt> attempts;
    for (auto family : ctx.supported()) {
        auto mine = entry_of(ctx.own_address(), family);
        auto theirs = entry_of(peer, family);
        if (!mine || !theirs) continue;
        auto choice = choose_punch(mine->nat, theirs->nat);
        if (!choice.mode) {
            why_not = choice.why_not;
            continue;
        }
        attempts.push_back({std::string(name()), UDP, family, Route::external, theirs->external_endpoint(), {}});
    }
    if (attempts.empty() && why_not.empty()) why_not = "no address family in common with the peer";
    return attempts;
}

asio::awaitable<Reached> UdpPunch::attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) {
    auto mine = entry_of(ctx.own_address(), attempt.family);
    auto theirs = entry_of(peer, attempt.family);
    if (!mine || !theirs) throw Exception(Errc::unreachable, "udp_punch: no address of this family on both sides");
    auto choice = choose_punch(mine->nat, theirs->nat);
    if (!choice.mode) throw Exception(Errc::unsupported, "udp_punch: " + choice.why_not);
    auto mode = *choice.mode;
    auto secret = PunchSecret::random();
    ++board_->counters.offers;

    // Registered before the offer leaves: the answer, and a link dialled back, may come at once.
    Mailbox mailbox(board_, secret.token, peer.public_key, ctx.executor());
    std::unique_ptr<PluginContext::Expectation> expectation;
    if (mode == PunchMode::answerer_hard) expectation = ctx.expect(attempt.con_id);

    UdpPunchMessage offer;
    offer.type = UdpPunchMessage::Type::offer;
    offer.token = secret.token;
    offer.key = secret.key;
    offer.con_id = attempt.con_id;
    offer.mode = mode;
    offer.candidates = co_await own_candidates(ctx, *mine, attempt.family, mode == PunchMode::offerer_hard);
    offer.offerer_address = ctx.own_address_bytes();
    auto sent = Clock::now();
    auto offer_bytes = encode_punch_message(offer);
    co_await ctx.signal(peer, offer_bytes);
    auto answer = co_await mailbox.receive("answer");
    auto rtt = Clock::now() - sent;

    // The instant (punch_schedule.hpp): a round trip plus both clocks' uncertainties ahead.
    ScheduleBudget budget;
    budget.window = window_for(mode, rtt);
    auto schedule = schedule_punch(ctx.clock(), PeerClock{answer.clock_uncertainty, answer.clock_synced}, rtt, budget);
    if (!schedule) throw Exception(schedule.error().code, "udp_punch: " + schedule.error().message);
    UdpPunchMessage instant;
    instant.type = UdpPunchMessage::Type::instant;
    instant.token = secret.token;
    instant.start_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(schedule->start.time_since_epoch()).count());
    instant.window = std::chrono::duration_cast<std::chrono::milliseconds>(schedule->window);
    auto begin = Clock::now() + schedule->lead;
    auto instant_bytes = encode_punch_message(instant);
    co_await ctx.signal(peer, instant_bytes);
    log::info("udp_punch: offer answered in {} ms; mode {}, {} candidates of ours, {} of the peer; probing {}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(rtt).count(), static_cast<int>(mode), offer.candidates.size(),
                 answer.candidates.size(), schedule->describe());

    Part part{mode, Role::offerer, mode == PunchMode::offerer_hard, mode != PunchMode::answerer_hard};
    // Not the introducer (the answerer is the hard side): its winning socket introduces the
    // link to our listen socket, which confirms its probes until then.
    PipePtr pipe;
    auto wait_for_link = [&]() -> asio::awaitable<void> { pipe = co_await expectation->wait(ctx.config().handshake_timeout); };
    auto path = co_await run_part(ctx, secret, part, answer.candidates, begin, instant.window, *board_, wait_for_link);
    co_return Reached{std::move(path), std::move(pipe)};
}

namespace {

// The answerer's side of one offer: answer with our candidates, wait for the instant, punch;
// the hard side of birthday probing introduces the link on its winning socket (dial_back).
asio::awaitable<void> answer_offer(PluginContext& ctx, std::shared_ptr<UdpPunch::Board> board, UdpPunchMessage offer, NodeAddress offerer) {
    struct Busy {
        UdpPunch::Board& board;
        ~Busy() { --board.answering; }
    } busy{*board};
    auto family = offer.candidates.front().ip.is_v6() ? IP6 : IP4;
    auto mine = entry_of(ctx.own_address(), family);
    if (!mine) throw Exception(Errc::unreachable, "udp_punch: no listen address of the offer's family");
    bool hard = offer.mode == PunchMode::answerer_hard;
    Mailbox mailbox(board, offer.token, offerer.public_key, ctx.executor());
    UdpPunchMessage answer;
    answer.type = UdpPunchMessage::Type::answer;
    answer.token = offer.token;
    answer.candidates = co_await own_candidates(ctx, *mine, family, hard);
    auto clock = ctx.clock();
    answer.clock_uncertainty = std::chrono::duration_cast<std::chrono::microseconds>(clock.uncertainty);
    answer.clock_synced = clock.synced;
    auto answer_bytes = encode_punch_message(answer);
    co_await ctx.signal(offerer, answer_bytes);
    ++board->counters.answered;
    auto instant = co_await mailbox.receive("instant");
    auto begin = local_instant(ctx, instant.start_ms);
    auto window = std::min<std::chrono::milliseconds>(instant.window, 15s);  // the peer's number, bounded by ours
    PunchSecret secret{offer.token, offer.key};
    Part part{offer.mode, Role::answerer, hard, hard};
    auto path = co_await run_part(ctx, secret, part, offer.candidates, begin, window, *board, nullptr);
    if (path) co_await ctx.dial_back(std::move(path), offerer, offer.con_id);
}

}  // namespace

void UdpPunch::serve(PluginContext& ctx) {
    if (!ctx.has_signaling()) return;
    ctx.on_signal([&ctx, board = board_](PluginSignal signal) {
        auto who = crypto::node_id(signal.sender);
        auto message = decode_punch_message(signal.payload);
        if (!message) {
            ++board->counters.declined;
            log::info("udp_punch: malformed message from {}: {}", who, message.error().to_string());
            return;
        }
        if (message->type != UdpPunchMessage::Type::offer) {
            auto it = board->waiting.find(message->token);
            if (it != board->waiting.end() && it->second.peer_key == signal.sender) it->second.deliver(std::move(*message));
            return;
        }
        auto decline = [&](std::string reason) {
            ++board->counters.declined;
            log::info("udp_punch: declined an offer from {}: {}", who, reason);
            auto offerer = parse_address(message->offerer_address);
            if (!offerer || offerer->public_key != signal.sender) return;  // nobody to tell
            UdpPunchMessage no;
            no.type = UdpPunchMessage::Type::decline;
            no.token = message->token;
            no.reason = std::move(reason);
            ctx.spawn([](PluginContext& c, NodeAddress to, Bytes payload) -> asio::awaitable<void> {
                co_await c.signal(to, payload);
            }(ctx, *offerer, encode_punch_message(no)), "udp_punch decline");
        };
        auto offerer = parse_address(message->offerer_address);
        if (!offerer) return decline("malformed offerer address: " + offerer.error().to_string());
        // The address must be the signer's own: nobody makes us probe a third party.
        if (offerer->public_key != signal.sender) return decline("the offer names another node's address");
        // Nor at anything the dial policy keeps us from (loopback, a LAN we are not on): the
        // offerer's candidates are its own claims.
        std::string refused;
        std::erase_if(message->candidates, [&](const Endpoint& c) {
            auto why = ctx.why_not_dial(c);
            if (!why.empty()) refused += " " + c.to_string() + " (" + why + ")";
            return !why.empty();
        });
        if (message->candidates.empty()) return decline("no candidate we may probe:" + refused);
        if (board->answering >= max_answering) return decline("busy: too many punches in progress");
        ++board->answering;
        ctx.spawn(answer_offer(ctx, board, std::move(*message), std::move(*offerer)), "udp_punch answer");
    });
}

}  // namespace warpgate::traversal
