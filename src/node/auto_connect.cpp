// auto_connect: a staggered race (docs/race.md). The race plan (traversal/race_plan.hpp) says
// when each attempt starts and which are not worth starting; here they start on time (or as
// soon as everything planned before them has failed), the first live pipe wins, and the rest
// are cancelled and awaited.
#include <warpgate/auto_connect.hpp>

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include "log.hpp"
#include <warpgate/node.hpp>

#include "crypto/identity.hpp"
#include "crypto/random.hpp"
#include "net/task_group.hpp"
#include "net/timeout.hpp"
#include "node/node_impl.hpp"
#include "session/session.hpp"
#include "traversal/race_plan.hpp"

namespace warpgate {

const char* to_string(PluginVerdict v) noexcept {
    switch (v) {
        case PluginVerdict::won: return "won";
        case PluginVerdict::lost: return "lost";
        case PluginVerdict::failed: return "failed";
        case PluginVerdict::declined: return "declined";
        case PluginVerdict::skipped: return "skipped";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::microseconds between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::microseconds>(to - from);
}

enum class Status : std::uint8_t { skipped, pending, running, failed, won, late };

// The shared state of the race. Attempts report here; the scheduler sleeps on `wake`.
struct Race {
    explicit Race(asio::any_io_executor ex, std::size_t n) : wake(ex), relay_gate(ex), status(n, Status::pending), reports(n), relay(n) {}
    asio::steady_timer wake;
    // Expires when the relay budget ends (set once); cancelled whenever an attempt ends, so
    // that a relayed link held back sees at once when nothing else is left trying.
    asio::steady_timer relay_gate;
    std::size_t running = 0;
    // Looking for a path to move a live link to (leaving a relay), not for a new link: an
    // attempt wins when the link moved to the path it reached (Session::migrate: the peer
    // answered there).
    bool paths_only = false;
    std::weak_ptr<session::Session> moving;
    PathPtr winner_path;
    PipePtr winner;
    std::size_t winner_index = 0;
    std::vector<Status> status;
    std::vector<AttemptReport> reports;
    std::vector<bool> relay;  // a relay-phase attempt
};

// Whether an attempt other than a relay may still link.
bool direct_live(const Race& race) {
    for (std::size_t i = 0; i < race.status.size(); ++i)
        if (!race.relay[i] && (race.status[i] == Status::pending || race.status[i] == Status::running)) return true;
    return false;
}

bool decided(const Race& race) { return race.winner || race.winner_path; }

// A relayed link reached before the relay budget ended waits for it while anything direct may
// still link. False when another attempt won meanwhile. Throws Errc::cancelled.
asio::awaitable<bool> hold_relayed(Race& race) {
    while (!decided(race) && direct_live(race) && Clock::now() < race.relay_gate.expiry()) {
        asio::error_code ec;
        co_await race.relay_gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (decided(race)) break;  // (the race's end cancels this wait too: not an error of its own)
        auto stop = co_await net::cancelled();
        if (stop) throw Exception(Errc::cancelled, "the relayed link's wait for the relay budget cancelled");
    }
    co_return !decided(race);
}

// Runs the plugin's attempt and introduces what it reached: the node, not the plugin, runs
// the link handshake and checks who answered. A relay's attempt passes its race as `budget`:
// what it reached waits for the relay budget before the link is introduced on it (so the peer
// sees no link that closes at once), and is closed, returning null, when another attempt won
// meanwhile.
asio::awaitable<PipePtr> reach(Node& node, Plugin& plugin, const NodeAddress& peer, const Attempt& attempt, Race* budget) {
    auto& impl = node.impl();
    auto reached = co_await plugin.attempt(impl.context_for(plugin), peer, attempt);
    if (budget) {
        auto drop = [&reached] {
            if (reached.path) reached.path->close();
            if (reached.pipe) reached.pipe->close();
        };
        bool taken = false;
        try {
            auto held = co_await hold_relayed(*budget);
            taken = held;
        } catch (...) {
            drop();
            throw;
        }
        if (!taken) {
            drop();
            co_return nullptr;
        }
    }
    PipePtr pipe = reached.pipe;
    if (reached.path) pipe = co_await impl.introduce(std::move(reached.path), peer, attempt.con_id);
    if (!pipe) throw Exception(Errc::unreachable, "the plugin reached nothing");
    if (pipe->encrypted() && pipe->peer_node_id() != crypto::node_id(peer.public_key)) {
        pipe->close();
        throw Exception(Errc::auth_failed, "the link belongs to node " + pipe->peer_node_id() + ", not to the peer");
    }
    co_return pipe;
}

asio::awaitable<void> run_attempt(std::shared_ptr<Race> race, std::size_t index, Node& node, std::shared_ptr<Plugin> plugin,
                                  const NodeAddress& peer, Attempt attempt) {
    auto begin = Clock::now();
    auto& report = race->reports[index];
    auto& status = race->status[index];
    try {
        if (race->paths_only) {
            auto reached = co_await plugin->attempt(node.impl().context_for(*plugin), peer, attempt);
            if (!reached.path) throw Exception(Errc::unsupported, "it makes a link of its own, not a path to move a link to");
            auto session = race->moving.lock();
            if (race->winner_path || !session) {
                reached.path->close();
                status = Status::late;
            } else {
                co_await session->migrate(reached.path);  // throws when the peer does not answer there
                race->winner_path = std::move(reached.path);
                race->winner_index = index;
                report.won = true;
                status = Status::won;
            }
            report.outcome = status == Status::won ? "moved the link there" : "reached, but another attempt won";
            report.duration = between(begin, Clock::now());
            --race->running;
            race->wake.cancel();
            co_return;
        }
        auto pipe = co_await reach(node, *plugin, peer, attempt, race->relay[index] ? race.get() : nullptr);
        if (!pipe) {
            report.outcome = "relayed path ready, held back by the relay budget until another attempt won";
            status = Status::late;
        } else if (race->winner) {
            pipe->close();  // a later finisher of a race already won
            report.outcome = "connected, but another attempt won";
            status = Status::late;
        } else {
            race->winner = pipe;
            race->winner_index = index;
            report.won = true;
            report.outcome = "connected";
            status = Status::won;
        }
    } catch (const Exception& e) {
        // Cancelled (the race was decided, or auto_connect was): not a failure of its own.
        if (e.errc() != Errc::cancelled) {
            report.outcome = e.error().to_string();
            status = Status::failed;
        }
    } catch (const std::exception& e) {
        report.outcome = e.what();
        status = Status::failed;
    }
    report.duration = between(begin, Clock::now());
    --race->running;
    race->wake.cancel();
    race->relay_gate.cancel();
}

struct Entry {
    std::shared_ptr<Plugin> plugin;
    traversal::PlannedAttempt planned;
};

std::string join_unique(const std::vector<std::string>& items) {
    std::vector<std::string> seen;
    for (auto& s : items)
        if (std::find(seen.begin(), seen.end(), s) == seen.end()) seen.push_back(s);
    return fmt::format("{}", fmt::join(seen, "; "));
}

PluginReport judge(const Plugin& plugin, const std::vector<Entry>& entries, const Race& race, std::string why_not,
                   const char* why_lost) {
    PluginReport out{std::string(plugin.name()), plugin.phase(), PluginVerdict::skipped, {}};
    std::vector<std::string> skips, failures;
    bool any = false, lost = false;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].plugin.get() != &plugin) continue;
        any = true;
        auto status = race.status[i];
        if (status == Status::won) return {out.plugin, out.phase, PluginVerdict::won, race.reports[i].attempt};
        if (status == Status::skipped) skips.push_back(entries[i].planned.skip_reason);
        if (status == Status::failed) failures.push_back(race.reports[i].outcome);
        if (status == Status::pending || status == Status::running || status == Status::late) lost = true;
    }
    if (!any) {
        out.reason = why_not.empty() ? "it planned no attempt for this peer" : std::move(why_not);
    } else if (lost) {
        out.verdict = PluginVerdict::lost;
        out.reason = why_lost;
    } else if (failures.empty()) {
        out.verdict = PluginVerdict::declined;
        out.reason = join_unique(skips);
    } else {
        out.verdict = PluginVerdict::failed;
        out.reason = join_unique(failures);
    }
    return out;
}

std::vector<PhaseRun> by_phase(const std::vector<Entry>& entries, const Race& race) {
    std::vector<PhaseRun> out;
    for (auto phase : {Phase::direct, Phase::punch, Phase::spray, Phase::relay}) {
        PhaseRun run{phase, {}, {}};
        std::optional<std::chrono::microseconds> first, last;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (entries[i].planned.phase != phase) continue;
            auto& r = race.reports[i];
            run.attempts.push_back(r);
            if (!r.started) continue;
            first = std::min(first.value_or(*r.started), *r.started);
            last = std::max(last.value_or(*r.started + r.duration), *r.started + r.duration);
        }
        if (run.attempts.empty()) continue;
        if (first) run.duration = *last - *first;
        out.push_back(std::move(run));
    }
    return out;
}

std::string describe(const std::vector<PluginReport>& plugins, const std::vector<PhaseRun>& phases) {
    std::string out;
    for (auto& p : plugins) out += fmt::format("\n  {}: {} ({})", p.plugin, to_string(p.verdict), p.reason);
    for (auto& phase : phases)
        for (auto& a : phase.attempts)
            out += fmt::format("\n  {} [{} phase, +{} ms]: {}", a.attempt, to_string(phase.phase), a.planned_delay.count(), a.outcome);
    return out;
}


// Every plugin's attempts for `peer` (those named in options, or all; never the relays when
// `direct_only`), in the race plan's order.
struct Plan {
    std::vector<std::shared_ptr<Plugin>> plugins;
    std::vector<std::string> why_not;
    std::vector<Entry> entries;
};

Plan plan_attempts(Node& node, const NodeAddress& peer, const ConnectOptions& options, bool direct_only) {
    Plan plan;
    for (auto& p : node.plugins().all()) {
        bool named = options.plugins.empty() || std::find(options.plugins.begin(), options.plugins.end(), p->name()) != options.plugins.end();
        if (named && !(direct_only && p->phase() == Phase::relay)) plan.plugins.push_back(p);
    }
    std::vector<traversal::Proposal> proposals;
    plan.why_not.resize(plan.plugins.size());
    for (std::size_t i = 0; i < plan.plugins.size(); ++i) {
        auto& plugin = plan.plugins[i];
        auto planned = plugin->plan(node.impl().context_for(*plugin), peer, options.transport, plan.why_not[i]);
        traversal::Proposal proposal{std::string(plugin->name()), plugin->phase(), std::move(planned)};
        for (auto& attempt : proposal.attempts) {
            attempt.plugin = proposal.plugin;  // the race finds the plugin by it
            crypto::random_bytes(attempt.con_id);
        }
        proposals.push_back(std::move(proposal));
    }
    traversal::RaceLimits limits{options.stagger, options.max_half_open, options.max_flows};
    limits.relay_after = options.relay_after;
    for (auto& planned : traversal::plan_race(node.node_address(), peer, options.transport, proposals, limits)) {
        auto plugin = std::find_if(plan.plugins.begin(), plan.plugins.end(), [&](auto& p) { return p->name() == planned.attempt.plugin; });
        plan.entries.push_back({*plugin, std::move(planned)});
    }
    return plan;
}

std::shared_ptr<Race> make_race(asio::any_io_executor ex, const std::vector<Entry>& entries, Clock::time_point relay_at) {
    auto race = std::make_shared<Race>(ex, entries.size());
    race->relay_gate.expires_at(relay_at);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        auto& planned = entries[i].planned;
        auto& report = race->reports[i];
        race->relay[i] = planned.phase == Phase::relay;
        report.attempt = planned.attempt.describe();
        report.planned_delay = planned.delay;
        report.skip_reason = planned.skip_reason;
        if (planned.skipped()) {
            race->status[i] = Status::skipped;
            report.outcome = "skipped: " + planned.skip_reason;
        }
    }
    return race;
}

// Starts each attempt on time (or as soon as everything planned before it ended: waiting
// longer cannot help), at most max_half_open at once, until one wins, all ended or the
// deadline. Then cancels and awaits the rest: nothing of theirs outlives the race. True when
// it ran out of time.
asio::awaitable<bool> run_race(std::shared_ptr<Race> race, const std::vector<Entry>& entries, Node& node, const NodeAddress& peer,
                               const ConnectOptions& options, Clock::time_point begin, Clock::time_point deadline) {
    auto ex = co_await asio::this_coro::executor;
    net::TaskGroup group(ex);
    bool timed_out = false;
    for (;;) {
        if (decided(*race)) break;
        auto now = Clock::now();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        auto wake_at = deadline;
        bool before_ended = true, left = false;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            auto& status = race->status[i];
            if (status == Status::skipped) continue;
            auto due_at = begin + entries[i].planned.delay;
            if (status == Status::pending) {
                left = true;
                if ((now >= due_at || before_ended) && race->running < std::max<std::size_t>(options.max_half_open, 1)) {
                    auto& report = race->reports[i];
                    report.started = between(begin, now);
                    log::debug("auto_connect: trying {} (planned at +{} ms)", report.attempt, entries[i].planned.delay.count());
                    status = Status::running;
                    ++race->running;
                    group.spawn(run_attempt(race, i, node, entries[i].plugin, peer, entries[i].planned.attempt), "attempt");
                } else if (now < due_at) {
                    wake_at = std::min(wake_at, due_at);
                }
            }
            if (status == Status::pending || status == Status::running) before_ended = false;
        }
        if (!left && race->running == 0) break;
        race->wake.expires_at(wake_at);
        asio::error_code ec;
        co_await race->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto stop = co_await net::cancelled();
        if (stop) {
            group.cancel_all();
            co_await group.wait();
            if (race->winner) race->winner->close();
            if (race->winner_path) race->winner_path->close();
            throw Exception(Errc::cancelled, "auto_connect cancelled");
        }
    }
    group.cancel_all();
    co_await group.wait();
    const char* why_lost = timed_out ? "out of time" : "another attempt won";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        auto& report = race->reports[i];
        // A running attempt that ended while we waited for the group went its own way.
        if (race->status[i] == Status::pending) report.outcome = fmt::format("not started: {}", why_lost);
        if (race->status[i] == Status::running) report.outcome = fmt::format("cancelled: {}", why_lost);
    }
    co_return timed_out;
}

// A link that won on a relay keeps looking for a direct path in the background (the
// non-relay plugins race again, for paths only) and moves to the first reached path the peer
// answers on; it stays on the relay, saying why, when there is none.
asio::awaitable<void> leave_relay(std::shared_ptr<node::NodeImpl> impl, NodeAddress peer, std::weak_ptr<session::Session> weak,
                                  ConnectOptions options) {
    auto ex = co_await asio::this_coro::executor;
    if (impl->closed) co_return;  // (the Node handle may be gone; close() cancels this task)
    Node& node = *impl->owner;
    auto plan = plan_attempts(node, peer, options, true);
    auto begin = Clock::now();
    auto race = make_race(ex, plan.entries, begin);  // (no relay among them)
    race->paths_only = true;
    race->moving = weak;
    bool timed_out = co_await run_race(race, plan.entries, node, peer, options, begin, begin + options.upgrade_timeout);
    auto session = weak.lock();
    if (!session || !session->is_open()) {
        if (race->winner_path) race->winner_path->close();
        co_return;
    }
    if (!race->winner_path) {
        std::vector<PluginReport> plugins;
        for (std::size_t i = 0; i < plan.plugins.size(); ++i)
            plugins.push_back(judge(*plan.plugins[i], plan.entries, *race, std::move(plan.why_not[i]), timed_out ? "out of time" : "another attempt won"));
        log::info("link to {} stays on the relay: no direct path{}", session->peer_node_id(), describe(plugins, by_phase(plan.entries, *race)));
        co_return;
    }
    log::info("link to {} left the relay after {}: {} reached {}", session->peer_node_id(),
                 net::describe(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin)),
                 plan.entries[race->winner_index].planned.attempt.describe(), session->path()->describe());
}

}  // namespace

asio::awaitable<ConnectResult> auto_connect(Node& node, const NodeAddress& peer, ConnectOptions options) {
    if (!node.started()) throw Exception(Errc::config, "auto_connect needs a started node");
    auto ex = co_await asio::this_coro::executor;
    auto begin = Clock::now();
    auto deadline = begin + options.timeout;
    for (auto& wanted : options.plugins) {
        if (node.plugins().find(wanted)) continue;
        std::vector<std::string_view> names;
        for (auto& p : node.plugins().all()) names.push_back(p->name());
        throw Exception(Errc::config, fmt::format("no plugin named '{}' (this build has: {})", wanted, fmt::join(names, ", ")));
    }

    auto plan = plan_attempts(node, peer, options, false);
    auto race = make_race(ex, plan.entries, begin + options.relay_after);
    bool timed_out = co_await run_race(race, plan.entries, node, peer, options, begin, deadline);
    const char* why_lost = timed_out ? "out of time" : "another attempt won";

    ConnectResult result;
    result.phases = by_phase(plan.entries, *race);
    for (std::size_t i = 0; i < plan.plugins.size(); ++i)
        result.plugins.push_back(judge(*plan.plugins[i], plan.entries, *race, std::move(plan.why_not[i]), why_lost));
    if (race->winner) {
        result.pipe = race->winner;
        result.attempt = plan.entries[race->winner_index].planned.attempt;
        result.plugin = result.attempt.plugin;
        log::info("auto_connect: {} won", result.attempt.describe());
        auto session = std::dynamic_pointer_cast<session::Session>(result.pipe);
        if (session && session->relayed() && options.leave_relay)
            node.impl().tasks.spawn(leave_relay(node.impl().shared_from_this(), peer, session, options), "leave relay");
        co_return result;
    }
    auto reasons = describe(result.plugins, result.phases);
    if (timed_out)
        throw ConnectFailure(Errc::timeout, "no pipe to the peer within " + net::describe(options.timeout) + ":" + reasons,
                             std::move(result.phases), std::move(result.plugins));
    bool tried = std::any_of(race->status.begin(), race->status.end(), [](Status s) { return s != Status::skipped; });
    throw ConnectFailure(Errc::unreachable, (tried ? "every attempt failed:" : "no plugin can reach this peer:") + reasons,
                         std::move(result.phases), std::move(result.plugins));
}

asio::awaitable<ConnectResult> auto_connect(Node& node, std::string_view destination, ConnectOptions options) {
    auto peer = parse_address_text(destination);
    if (!peer) throw Exception(Errc::malformed, "bad destination address: " + peer.error().message);
    auto result = co_await auto_connect(node, *peer, std::move(options));
    co_return result;
}

asio::awaitable<ConnectResult> auto_connect(Node& node, ByteView destination, ConnectOptions options) {
    auto peer = parse_address(destination);
    if (!peer) throw Exception(Errc::malformed, "bad destination address: " + peer.error().message);
    auto result = co_await auto_connect(node, *peer, std::move(options));
    co_return result;
}

}  // namespace warpgate
