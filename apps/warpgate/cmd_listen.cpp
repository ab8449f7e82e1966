// warpgate listen: run a node, accept links, print (or echo) what arrives, until a signal.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <asio/steady_timer.hpp>
#include <iostream>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

// Text lines, or with --json one event per line: link, message, link_closed.
struct Events {
    bool json = false;

    void link(const Pipe& pipe) const {
        if (json)
            print_json_line(std::cout, {{"event", "link"}, {"peer", pipe.peer_node_id()}, {"endpoint", pipe.remote_endpoint().to_string()},
                                        {"path", path_of(pipe)}, {"encrypted", pipe.encrypted()}});
        else
            std::cout << "link from " << pipe.remote_endpoint().to_string() << " (" << to_string(pipe.transport()) << ")" << std::endl;
    }
    void message(const Endpoint& from, const std::string& peer, ByteView text) const {
        if (json)
            print_json_line(std::cout, {{"event", "message"}, {"peer", peer}, {"endpoint", from.to_string()}, {"text", std::string(as_chars(text))}});
        else
            std::cout << "[" << from.to_string() << "] " << as_chars(text) << std::endl;
    }
    void closed(const Endpoint& from, const std::string& peer, const std::string& reason) const {
        if (json)
            print_json_line(std::cout, {{"event", "link_closed"}, {"peer", peer}, {"endpoint", from.to_string()}, {"reason", reason}});
        else
            std::cout << "link from " << from.to_string() << " ended: " << reason << std::endl;
    }
};

asio::awaitable<void> serve_link(PipePtr pipe, bool echo, Events events) {
    auto from = pipe->remote_endpoint();
    auto peer = pipe->peer_node_id();
    events.link(*pipe);
    try {
        for (;;) {
            auto message = co_await pipe->recv(std::chrono::hours(24));
            events.message(from, peer, message);
            if (echo) co_await pipe->send(message);
        }
    } catch (const Exception& e) {
        events.closed(from, peer, e.error().message);
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
    auto* cmd = app.add_subcommand("listen", "Run a node and accept links until SIGINT/SIGTERM (exit 0)");
    auto flags = std::make_shared<ListenFlags>();
    auto echo = std::make_shared<bool>(false);
    flags->add_to(*cmd);
    cmd->get_option("--json")->description(
        "One JSON line per event: listening (address), link (peer, path), message, link_closed, stats (on SIGUSR1 and at exit)");
    cmd->add_flag("--echo", *echo, "Send every received message back to its sender");
    cmd->callback([&action, flags, echo] {
        action = [flags, echo] {
            return run(
                [=](asio::io_context& io) -> asio::awaitable<int> {
                    // An operator should see refusals (info, rate-limited), not only warnings.
                    if (spdlog::get_level() > spdlog::level::info) spdlog::set_level(spdlog::level::info);
                    Node node(io.get_executor(), flags->node.node_options());
                    co_await node.start({progress_printer(flags->node.verbose)});
                    Events events{flags->json};
                    node.on_inbound([&io, echo, events](PipePtr pipe) { asio::co_spawn(io, serve_link(pipe, *echo, events), asio::detached); });
                    node.add_msg_cb([echo, events](Message m, Endpoint from, Pipe& pipe) -> asio::awaitable<void> {
                        events.message(from, pipe.peer_node_id(), m);
                        if (*echo) co_await pipe.send(m);
                    });
                    announce_listening(node, *flags, std::cout);
                    asio::signal_set usr1(io, SIGUSR1);
                    asio::co_spawn(io, stats_on_signal(usr1, node, flags->json), asio::detached);
                    // Sleeps until SIGINT/SIGTERM cancels this coroutine.
                    asio::steady_timer forever(io, asio::steady_timer::time_point::max());
                    asio::error_code ec;
                    co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    // The signal cancelled us; what follows (closing the node) must still run.
                    co_await asio::this_coro::reset_cancellation_state();
                    usr1.cancel();
                    print_stats(node, flags->json);
                    if (!flags->json) std::cout << "closing" << std::endl;
                    co_await asio::co_spawn(io, node.close(), asio::use_awaitable);  // outside the cancelled scope
                    co_return 0;
                },
                OnSignal::stop_service);
        };
    });
}

}  // namespace warpgate::cli
