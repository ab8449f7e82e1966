// warpgate listen: run a node, accept links, print (or echo) what arrives, until a signal.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <asio/steady_timer.hpp>
#include <fstream>
#include <iostream>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

asio::awaitable<void> serve_link(PipePtr pipe, bool echo) {
    auto peer = pipe->remote_endpoint().to_string();
    std::cout << "link from " << peer << " (" << to_string(pipe->transport()) << ")" << std::endl;
    try {
        for (;;) {
            auto message = co_await pipe->recv(std::chrono::hours(24));
            std::cout << "[" << peer << "] " << as_chars(message) << std::endl;
            if (echo) co_await pipe->send(message);
        }
    } catch (const Exception& e) {
        std::cout << "link from " << peer << " ended: " << e.error().message << std::endl;
    }
}

nlohmann::json stats_json(const NodeStats& stats) {
    nlohmann::json refused = nlohmann::json::object();
    for (auto& [reason, count] : stats.refused) refused[reason] = count;
    return {{"links", stats.links},
            {"half_open", stats.half_open},
            {"pending_tcp", stats.pending_tcp},
            {"refused", refused},
            {"datagrams_for_no_session", stats.datagrams_for_no_session},
            {"datagrams_not_ours", stats.datagrams_not_ours}};
}

void print_stats(const Node& node, bool json) {
    auto stats = node.stats();
    if (json) {
        std::cout << nlohmann::json{{"event", "stats"}, {"stats", stats_json(stats)}}.dump() << std::endl;
        return;
    }
    std::cout << "stats: " << stats.links << " links, " << stats.half_open << " half-open, " << stats.pending_tcp
              << " pending TCP connections";
    for (auto& [reason, count] : stats.refused) std::cout << "; refused " << count << " (" << reason << ")";
    std::cout << std::endl;
}

// Prints the counters on every SIGUSR1 until the set is cancelled.
asio::awaitable<void> stats_on_signal(asio::signal_set& usr1, const Node& node, bool json) {
    for (;;) {
        asio::error_code ec;
        co_await usr1.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        print_stats(node, json);
    }
}

}  // namespace

void add_listen_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("listen", "Run a node and accept links until SIGINT/SIGTERM");
    auto flags = std::make_shared<NodeFlags>();
    auto addr_out = std::make_shared<std::string>();
    auto echo = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    flags->add_to(*cmd);
    cmd->add_flag("--json", *json, "Print the start line and the counters (on SIGUSR1 and at exit) as JSON lines");
    cmd->add_option("--addr-out", *addr_out, "Also write the node's address (text form) to FILE");
    cmd->add_flag("--echo", *echo, "Send every received message back to its sender");
    cmd->callback([&action, flags, addr_out, echo, json] {
        action = [flags, addr_out, echo, json] {
            return run([=](asio::io_context& io) -> asio::awaitable<int> {
                // An operator should see refusals (info, rate-limited), not only warnings.
                if (spdlog::get_level() > spdlog::level::info) spdlog::set_level(spdlog::level::info);
                Node node(io.get_executor(), flags->node_options());
                co_await node.start({progress_printer(flags->verbose)});
                node.on_inbound([&io, echo](PipePtr pipe) { asio::co_spawn(io, serve_link(pipe, *echo), asio::detached); });
                node.add_msg_cb([echo](Message m, Endpoint from, Pipe& pipe) -> asio::awaitable<void> {
                    std::cout << "[" << from.to_string() << "] " << as_chars(m) << std::endl;
                    if (*echo) co_await pipe.send(m);
                });
                if (!addr_out->empty()) {
                    std::ofstream out(*addr_out + ".tmp");
                    out << node.address_text() << "\n";
                    out.close();
                    std::rename((*addr_out + ".tmp").c_str(), addr_out->c_str());  // readers never see half a file
                }
                auto mappings = nlohmann::json::array();
                for (auto& m : node.port_mappings()) mappings.push_back(to_json(m));
                if (*json)
                    std::cout << nlohmann::json{{"event", "listening"}, {"port", node.listen_port()}, {"node_id", node.node_id()},
                                                {"address", node.address_text()}, {"port_mappings", mappings}}
                                     .dump()
                              << std::endl;
                else {
                    std::cout << "listening on port " << node.listen_port() << " as " << node.node_id() << "\n";
                    for (auto& m : node.port_mappings()) std::cout << "port mapping: " << describe(m) << "\n";
                    std::cout << node.address_text() << std::endl;
                }
                asio::signal_set usr1(io, SIGUSR1);
                asio::co_spawn(io, stats_on_signal(usr1, node, *json), asio::detached);
                // Sleeps until SIGINT/SIGTERM cancels this coroutine.
                asio::steady_timer forever(io, asio::steady_timer::time_point::max());
                asio::error_code ec;
                co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                // The signal cancelled us; what follows (closing the node) must still run.
                co_await asio::this_coro::reset_cancellation_state();
                usr1.cancel();
                print_stats(node, *json);
                if (!*json) std::cout << "closing" << std::endl;
                co_await asio::co_spawn(io, node.close(), asio::use_awaitable);  // outside the cancelled scope
                co_return 0;
            });
        };
    });
}

}  // namespace warpgate::cli
