// warpgate connect: reach a peer by auto_connect, send a message, print the reply and how.
#include <fmt/format.h>
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
    };
    auto args = std::make_shared<Args>();
    args->flags.add_to(*cmd);
    cmd->add_option("target", args->target, "Peer address text (wg1...), @FILE holding it, or a nickname")->required();
    cmd->add_option("--send", args->send, "Message to send");
    cmd->add_option("--plugins", args->plugins, "Only these traversal plugins, comma separated (e.g. direct_connect)")->delimiter(',');
    cmd->add_option("--timeout", args->timeout, "Overall connect timeout in seconds")->check(CLI::PositiveNumber);
    cmd->add_option("--transport", args->transport, "tcp or udp")->check(CLI::IsMember({"tcp", "udp"}));
    cmd->add_flag("--json", args->json, "Print the outcome as JSON");
    cmd->callback([&action, args] {
        action = [args] {
            return run([args](asio::io_context& io) -> asio::awaitable<int> {
                auto text = read_target(args->target);
                if (!text.starts_with("wg1"))
                    throw Exception(Errc::unsupported, "'" + text + "' is not an address (wg1...): nicknames need the nickname service, not in this build yet");
                auto peer = value_or_throw(parse_address_text(text));
                Node node(io.get_executor(), args->flags.node_options());
                co_await node.start({progress_printer(args->flags.verbose)});
                ConnectOptions options{*parse_transport(args->transport),
                                       std::chrono::milliseconds(static_cast<long>(args->timeout * 1000)), args->plugins};
                ConnectResult result;
                std::exception_ptr failure;
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
                auto begin = std::chrono::steady_clock::now();
                co_await result.pipe->send(as_bytes(args->send));
                auto reply = co_await result.pipe->recv(std::chrono::milliseconds(static_cast<long>(args->timeout * 1000)));
                auto rtt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
                if (args->json) {
                    std::cout << nlohmann::json{{"plugin", result.plugin}, {"attempt", result.attempt.describe()},
                                                {"reply", std::string(as_chars(reply))}, {"reply_ms", rtt},
                                                {"plugins", plugins_json(result.plugins)}, {"phases", phases_json(result.phases)}}
                                     .dump(2)
                              << std::endl;
                } else {
                    std::cout << "connected by " << result.attempt.describe() << "\n";
                    for (auto& p : result.phases)
                        std::cout << fmt::format("  {} phase: {:.2f} ms, {} attempts\n", to_string(p.phase), p.duration.count() / 1000.0, p.attempts.size());
                    for (auto& p : result.plugins) std::cout << fmt::format("  {}: {} ({})\n", p.plugin, to_string(p.verdict), p.reason);
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
