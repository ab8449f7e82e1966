// auto_connect: phases in order (direct, punch, spray, relay); inside a phase every attempt
// of every plugin races; the first live pipe wins, the rest are cancelled and closed.
#include <warpgate/auto_connect.hpp>

#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <warpgate/node.hpp>

#include "crypto/random.hpp"
#include "net/task_group.hpp"
#include "net/timeout.hpp"
#include "node/node_impl.hpp"

namespace warpgate {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::microseconds since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t);
}

// The shared state of one phase's race. Attempts report here; the caller sleeps on `wake`.
struct Race {
    explicit Race(asio::any_io_executor ex) : wake(ex) {}
    asio::steady_timer wake;
    std::size_t running = 0;
    PipePtr winner;
    std::size_t winner_index = 0;
    std::vector<AttemptReport> reports;
};

asio::awaitable<void> run_attempt(std::shared_ptr<Race> race, std::size_t index, Node& node, std::shared_ptr<Plugin> plugin,
                                  const NodeAddress& peer, Attempt attempt) {
    auto begin = Clock::now();
    auto& report = race->reports[index];
    try {
        auto pipe = co_await plugin->attempt(node, peer, attempt);
        report.duration = since(begin);
        if (race->winner) {
            pipe->close();  // a later finisher of a race already won
            report.outcome = "connected, but another attempt won";
        } else {
            race->winner = pipe;
            race->winner_index = index;
            report.won = true;
            report.outcome = "connected";
        }
    } catch (const Exception& e) {
        report.duration = since(begin);
        report.outcome = e.error().to_string();
    } catch (const std::exception& e) {
        report.duration = since(begin);
        report.outcome = e.what();
    }
    --race->running;
    race->wake.cancel();
}

std::string describe_failures(const std::vector<PhaseRun>& phases) {
    std::string out;
    for (auto& phase : phases)
        for (auto& a : phase.attempts) out += fmt::format("\n  {} [{} phase]: {}", a.attempt, to_string(phase.phase), a.outcome);
    return out;
}

}  // namespace

asio::awaitable<ConnectResult> auto_connect(Node& node, const NodeAddress& peer, ConnectOptions options) {
    if (!node.started()) throw Exception(Errc::config, "auto_connect needs a started node");
    auto ex = co_await asio::this_coro::executor;
    auto deadline = Clock::now() + options.timeout;
    ConnectResult result;

    std::vector<std::shared_ptr<Plugin>> plugins;
    for (auto& p : node.plugins().all())
        if (options.plugins.empty() || std::find(options.plugins.begin(), options.plugins.end(), p->name()) != options.plugins.end())
            plugins.push_back(p);
    for (auto& wanted : options.plugins)
        if (!node.plugins().find(wanted)) throw Exception(Errc::config, "no plugin named '" + wanted + "'");

    for (auto phase : {Phase::direct, Phase::punch, Phase::spray, Phase::relay}) {
        std::vector<std::pair<std::shared_ptr<Plugin>, Attempt>> attempts;
        for (auto& plugin : plugins) {
            if (plugin->phase() != phase) continue;
            for (auto& attempt : plugin->plan(node, peer, options.transport)) {
                crypto::random_bytes(attempt.con_id);
                attempts.emplace_back(plugin, std::move(attempt));
            }
        }
        if (attempts.empty()) continue;

        auto begin = Clock::now();
        auto race = std::make_shared<Race>(ex);
        race->reports.resize(attempts.size());
        net::TaskGroup group(ex);
        for (std::size_t i = 0; i < attempts.size(); ++i) {
            race->reports[i].attempt = attempts[i].second.describe();
            spdlog::debug("auto_connect: trying {}", race->reports[i].attempt);
            ++race->running;
            group.spawn(run_attempt(race, i, node, attempts[i].first, peer, attempts[i].second), "attempt");
        }
        bool timed_out = false;
        while (!race->winner && race->running > 0) {
            if (Clock::now() >= deadline) {
                timed_out = true;
                break;
            }
            race->wake.expires_at(deadline);
            asio::error_code ec;
            co_await race->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            auto stop = co_await net::cancelled();
            if (stop) {
                group.cancel_all();
                co_await group.wait();
                if (race->winner) race->winner->close();
                throw Exception(Errc::cancelled, "auto_connect cancelled");
            }
        }
        // Losers are cancelled and awaited: nothing of theirs outlives this call.
        group.cancel_all();
        co_await group.wait();
        for (auto& report : race->reports)
            if (report.outcome.empty()) report.outcome = timed_out ? "cancelled: out of time" : "cancelled: another attempt won";
        result.phases.push_back({phase, since(begin), race->reports});
        if (race->winner) {
            result.pipe = race->winner;
            result.attempt = attempts[race->winner_index].second;
            result.plugin = result.attempt.plugin;
            spdlog::info("auto_connect: {} won", result.attempt.describe());
            co_return result;
        }
        if (timed_out)
            throw Exception(Errc::timeout, "no pipe to the peer within " + net::describe(options.timeout) + ":" +
                                               describe_failures(result.phases));
    }
    if (result.phases.empty())
        throw Exception(Errc::unreachable, "no plugin can reach this peer (no common address family or route)");
    throw Exception(Errc::unreachable, "every attempt failed:" + describe_failures(result.phases));
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
