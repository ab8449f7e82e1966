// warpgate connect: reach a peer by auto_connect, send a message, print the reply and how.
// With --repeat, the message goes N times over the one link, to watch a link live (e.g. while
// its NAT rebinds): each reply is printed as it comes, a lost one only counts as lost.
#include <fmt/format.h>
#include <map>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <warpgate/auto_connect.hpp>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

std::string read_target(const std::string& target) {
    if (target.empty() || target[0] != '@') return target;
    std::ifstream in(target.substr(1));
    if (!in) throw Exception(Errc::config, "cannot read address file " + target.substr(1));
    std::string text;
    in >> text;
    return text;
}

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
    std::cout << "connected by " << result.attempt.describe() << "\n";
    for (auto& p : result.phases)
        std::cout << fmt::format("  {} phase: {:.2f} ms, {} attempts\n", to_string(p.phase), p.duration.count() / 1000.0, p.attempts.size());
    for (auto& p : result.plugins) std::cout << fmt::format("  {}: {} ({})\n", p.plugin, to_string(p.verdict), p.reason);
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

}  // namespace

void add_connect_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("connect", "Connect to a peer, send a message and print the reply");
    struct Args {
        NodeFlags flags;
        std::string target;
        std::string send = "hello from warpgate";
        std::vector<std::string> plugins;
        double timeout = 10;
        std::string transport = "tcp";
        bool json = false;
        int repeat = 1;
        int interval_ms = 200;
    };
    auto args = std::make_shared<Args>();
    args->flags.add_to(*cmd);
    cmd->add_option("target", args->target, "Peer address text (wg1...), @FILE holding it, or a nickname")->required();
    cmd->add_option("--send", args->send, "Message to send");
    cmd->add_option("--plugins", args->plugins, "Only these traversal plugins, comma separated (e.g. direct_connect)")->delimiter(',');
    cmd->add_option("--timeout", args->timeout, "Overall connect timeout in seconds")->check(CLI::PositiveNumber);
    cmd->add_option("--transport", args->transport, "tcp or udp")->check(CLI::IsMember({"tcp", "udp"}));
    auto* json = cmd->add_flag("--json", args->json, "Print the outcome as JSON");
    cmd->add_option("--repeat", args->repeat,
                    "Send the message N times over the one link (\"TEXT #i\"), printing each reply as it comes; lost replies are "
                    "counted, an ended link is an error; exits 1 unless the last one is answered (text output only)")
        ->check(CLI::PositiveNumber)
        ->excludes(json);
    cmd->add_option("--interval", args->interval_ms, "Milliseconds between --repeat messages (default 200)")->check(CLI::PositiveNumber);
    cmd->callback([&action, args] {
        action = [args] {
            return run([args](asio::io_context& io) -> asio::awaitable<int> {
                auto text = read_target(args->target);
                auto node_options = args->flags.node_options();
                if (!text.starts_with("wg1")) {
                    auto resolved = co_await resolve_nickname(io, node_options.conf, text);
                    text = std::move(resolved);
                }
                auto peer = value_or_throw(parse_address_text(text));
                Node node(io.get_executor(), std::move(node_options));
                co_await node.start({progress_printer(args->flags.verbose)});
                ConnectOptions options;
                options.transport = *parse_transport(args->transport);
                options.timeout = std::chrono::milliseconds(static_cast<long>(args->timeout * 1000));
                options.plugins = args->plugins;
                ConnectResult result;
                std::exception_ptr failure;
                auto connect_begin = std::chrono::steady_clock::now();
                try {
                    result = co_await auto_connect(node, peer, options);
                } catch (const ConnectFailure& e) {
                    if (args->json)
                        std::cout << nlohmann::json{{"error", e.error().to_string()}, {"plugins", plugins_json(e.plugins)},
                                                    {"phases", phases_json(e.phases)}}
                                         .dump(2)
                                  << std::endl;
                    failure = std::current_exception();
                } catch (const Exception&) {
                    failure = std::current_exception();
                }
                if (failure) {
                    co_await node.close();
                    std::rethrow_exception(failure);
                }
                if (args->repeat > 1) {
                    print_connected(result);
                    std::cout << std::flush;
                    auto report = co_await send_repeatedly(*result.pipe, args->send, args->repeat, std::chrono::milliseconds(args->interval_ms),
                                                           std::chrono::milliseconds(static_cast<long>(args->timeout * 1000)));
                    std::cout << fmt::format("{} sent, {} replies, longest silence {:.0f} ms", args->repeat, report.replies,
                                             report.longest_silence_ms)
                              << std::endl;
                    result.pipe->close();
                    co_await node.close();
                    if (!report.last_answered) std::cerr << "error: the last message got no reply" << std::endl;
                    co_return report.last_answered ? 0 : 1;
                }
                auto begin = std::chrono::steady_clock::now();
                co_await result.pipe->send(as_bytes(args->send));
                auto reply = co_await result.pipe->recv(std::chrono::milliseconds(static_cast<long>(args->timeout * 1000)));
                auto now = std::chrono::steady_clock::now();
                auto rtt = std::chrono::duration<double, std::milli>(now - begin).count();
                auto first_echo = std::chrono::duration<double, std::milli>(now - connect_begin).count();
                if (args->json) {
                    std::cout << nlohmann::json{{"plugin", result.plugin}, {"attempt", result.attempt.describe()},
                                                {"reply", std::string(as_chars(reply))}, {"reply_ms", rtt},
                                                {"first_echo_ms", first_echo}, {"relayed", result.pipe->relayed()},
                                                {"plugins", plugins_json(result.plugins)}, {"phases", phases_json(result.phases)}}
                                     .dump(2)
                              << std::endl;
                } else {
                    print_connected(result);
                    std::cout << "reply: " << as_chars(reply) << fmt::format(" ({:.2f} ms)", rtt) << std::endl;
                }
                result.pipe->close();
                co_await node.close();
                co_return 0;
            });
        };
    });
}

}  // namespace warpgate::cli
