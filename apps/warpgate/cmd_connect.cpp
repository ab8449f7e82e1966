// warpgate connect: reach a peer by auto_connect, send a message, print the reply and how.
// With --repeat, the message goes N times over the one link, to watch a link live (e.g. while
// its NAT rebinds): each reply is printed as it comes, a lost one only counts as lost.
#include <fmt/format.h>
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>
#include <warpgate/auto_connect.hpp>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

nlohmann::json phases_json(const std::vector<PhaseRun>& phases) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& p : phases) {
        nlohmann::json attempts = nlohmann::json::array();
        for (auto& a : p.attempts) {
            nlohmann::json attempt = {{"attempt", a.attempt}, {"won", a.won}, {"outcome", a.outcome}, {"ms", a.duration.count() / 1000.0},
                                      {"planned_delay_ms", a.planned_delay.count()}};
            attempt["started_ms"] = a.started ? nlohmann::json(a.started->count() / 1000.0) : nlohmann::json(nullptr);
            if (!a.skip_reason.empty()) attempt["skip_reason"] = a.skip_reason;
            attempts.push_back(std::move(attempt));
        }
        out.push_back({{"phase", to_string(p.phase)}, {"ms", p.duration.count() / 1000.0}, {"attempts", attempts}});
    }
    return out;
}

// Per plugin: won, lost, failed, declined (the NAT facts ruled its attempts out) or skipped
// (it planned nothing), and why.
nlohmann::json plugins_json(const std::vector<PluginReport>& plugins) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& p : plugins)
        out.push_back({{"plugin", p.plugin}, {"phase", to_string(p.phase)}, {"verdict", to_string(p.verdict)}, {"reason", p.reason}});
    return out;
}

void print_connected(const ConnectResult& result) {
    std::cout << "connected (" << result.plugin << ", " << path_of(*result.pipe) << ") by " << result.attempt.describe() << "\n";
    for (auto& p : result.phases)
        std::cout << fmt::format("  {} phase: {:.2f} ms, {} attempts\n", to_string(p.phase), p.duration.count() / 1000.0, p.attempts.size());
    for (auto& p : result.plugins) std::cout << fmt::format("  {}: {} ({})\n", p.plugin, to_string(p.verdict), p.reason);
    std::cout << std::flush;
}

nlohmann::json connected_json(const ConnectResult& result) {
    return {{"plugin", result.plugin}, {"attempt", result.attempt.describe()}, {"path", path_of(*result.pipe)},
            {"relayed", result.pipe->relayed()}, {"plugins", plugins_json(result.plugins)}, {"phases", phases_json(result.phases)}};
}

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) { return std::chrono::duration<double, std::milli>(to - from).count(); }

struct RepeatReport {
    int replies = 0;
    double longest_silence_ms = 0;  // between the first send and a reply, or two replies
    bool last_answered = false;
};

// Sends "TEXT #1" .. "TEXT #N", one every `interval`, printing every reply as it arrives with
// its round trip and its time since the first send. A reply that does not come is lost, not
// an error: only the link ending (recv failing otherwise than by timeout) is. After the last
// send, waits up to `timeout` for its reply.
asio::awaitable<RepeatReport> send_repeatedly(Pipe& pipe, const std::string& text, int count, std::chrono::milliseconds interval,
                                              std::chrono::milliseconds timeout) {
    RepeatReport report;
    std::map<std::string, Clock::time_point> sent;
    auto begin = Clock::now();
    auto last_heard = begin;
    auto last_text = fmt::format("{} #{}", text, count);
    for (int i = 1; i <= count && !report.last_answered; ++i) {
        auto message = fmt::format("{} #{}", text, i);
        sent[message] = Clock::now();
        co_await pipe.send(as_bytes(message));
        auto until = i < count ? begin + interval * i : Clock::now() + timeout;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            if (left <= std::chrono::milliseconds(0)) break;
            bool timed_out = false;
            try {
                auto reply = co_await pipe.recv(left);
                auto now = Clock::now();
                std::string reply_text(as_chars(reply));
                auto at = sent.find(reply_text);
                report.longest_silence_ms = std::max(report.longest_silence_ms, ms_between(last_heard, now));
                last_heard = now;
                ++report.replies;
                report.last_answered = reply_text == last_text;
                std::cout << "reply: " << reply_text
                          << fmt::format(" ({:.2f} ms, at {:.0f} ms)", at == sent.end() ? 0.0 : ms_between(at->second, now), ms_between(begin, now))
                          << std::endl;
            } catch (const Exception& e) {
                if (e.errc() != Errc::timeout) throw;
                timed_out = true;
            }
            if (timed_out || report.last_answered) break;
        }
    }
    co_return report;
}

struct ConnectArgs {
    DialFlags dial;
    std::string send = "hello from warpgate";
    bool json = false;
    int repeat = 1;
    int interval_ms = 200;
};

// Sends the message once and prints the reply. The link is up and the message delivered
// before the wait: when no reply comes, say so (the listener echoes only with --echo).
asio::awaitable<int> send_once(const ConnectArgs& args, const ConnectResult& result, Clock::time_point connect_begin) {
    if (!args.json) print_connected(result);
    auto begin = Clock::now();
    co_await result.pipe->send(as_bytes(args.send));
    Message reply;
    try {
        reply = co_await result.pipe->recv(args.dial.timeout());
    } catch (const Exception& e) {
        if (e.errc() != Errc::timeout) throw;
        throw Exception(Errc::timeout, fmt::format("connected ({}, {}) and sent the message, but no reply came within {} ms "
                                                   "(a listener echoes only with --echo)",
                                                   result.plugin, path_of(*result.pipe), args.dial.timeout().count()));
    }
    auto now = Clock::now();
    auto rtt = ms_between(begin, now);
    if (args.json) {
        auto out = connected_json(result);
        out["reply"] = std::string(as_chars(reply));
        out["reply_ms"] = rtt;
        out["first_echo_ms"] = ms_between(connect_begin, now);
        std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    } else {
        std::cout << "reply: " << as_chars(reply) << fmt::format(" ({:.2f} ms)", rtt) << std::endl;
    }
    co_return 0;
}

asio::awaitable<int> send_repeat(const ConnectArgs& args, const ConnectResult& result) {
    print_connected(result);
    auto report = co_await send_repeatedly(*result.pipe, args.send, args.repeat, std::chrono::milliseconds(args.interval_ms), args.dial.timeout());
    std::cout << fmt::format("{} sent, {} replies, longest silence {:.0f} ms", args.repeat, report.replies, report.longest_silence_ms) << std::endl;
    if (!report.last_answered) std::cerr << "error: the last message got no reply" << std::endl;
    co_return report.last_answered ? 0 : 1;
}

asio::awaitable<int> run_connect(asio::io_context& io, const ConnectArgs& args) {
    auto dialler = co_await start_dialler(io, args.dial);
    auto& node = *dialler.node;
    std::exception_ptr failure;
    PipePtr pipe;
    int code = 1;
    try {
        auto connect_begin = Clock::now();
        auto result = co_await auto_connect(node, dialler.peer, dialler.options);
        pipe = result.pipe;
        if (args.repeat > 1) code = co_await send_repeat(args, result);
        else code = co_await send_once(args, result, connect_begin);
    } catch (const Exception&) {
        failure = std::current_exception();
    }
    if (pipe) pipe->close();  // also after a failure: the peer learns at once, nothing lingers
    co_await node.close();
    if (failure) std::rethrow_exception(failure);
    co_return code;
}

// --json: a failure is a JSON object too, with "error" (and the race's reports when it got that far).
asio::awaitable<int> run_connect_json(asio::io_context& io, const ConnectArgs& args) {
    try {
        auto code = co_await run_connect(io, args);
        co_return code;
    } catch (const ConnectFailure& e) {
        std::cout << nlohmann::json{{"error", e.error().to_string()}, {"plugins", plugins_json(e.plugins)}, {"phases", phases_json(e.phases)}}
                         .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                  << std::endl;
        throw;
    } catch (const Exception& e) {
        std::cout << nlohmann::json{{"error", e.error().to_string()}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
        throw;
    }
}

}  // namespace

void add_connect_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("connect", "Connect to a peer, send a message and print the reply");
    auto args = std::make_shared<ConnectArgs>();
    args->dial.add_to(*cmd, true);
    cmd->add_option("--send", args->send, "Message to send");
    auto* json = cmd->add_flag("--json", args->json, "Print the outcome as JSON (a failure too: an object with \"error\")");
    cmd->add_option("--repeat", args->repeat,
                    "Send the message N times over the one link (\"TEXT #i\"), printing each reply as it comes; lost replies are "
                    "counted, an ended link is an error; exits 1 unless the last one is answered (text output only)")
        ->check(CLI::PositiveNumber)
        ->excludes(json);
    cmd->add_option("--interval", args->interval_ms, "Milliseconds between --repeat messages (default 200)")->check(CLI::PositiveNumber);
    cmd->callback([&action, args] {
        action = [args] {
            return run([args](asio::io_context& io) { return args->json ? run_connect_json(io, *args) : run_connect(io, *args); });
        };
    });
}

}  // namespace warpgate::cli
