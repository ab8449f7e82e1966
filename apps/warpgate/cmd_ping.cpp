// warpgate ping TARGET: one link, then liveness pings over it (answered by the peer's session,
// no --echo needed), each line with its round trip, the link's current path and the plugin
// that made it; a min/median/max summary. Exits 0 when any ping was answered.
#include <algorithm>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <iostream>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

struct PingArgs {
    DialFlags dial;
    int count = 4;
    int interval_ms = 1000;
    int wait_ms = 1000;
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    auto mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

asio::awaitable<int> run_ping(asio::io_context& io, const PingArgs& args) {
    auto dialler = co_await start_dialler(io, args.dial);
    auto& node = *dialler.node;
    auto link = co_await auto_connect(node, dialler.peer, dialler.options);
    std::cout << "connected (" << link.plugin << ", " << path_of(*link.pipe) << ") to " << link.pipe->peer_node_id() << std::endl;
    std::vector<double> rtts;
    asio::steady_timer pause(io);
    for (int seq = 1; seq <= args.count; ++seq) {
        auto sent_at = std::chrono::steady_clock::now();
        try {
            auto rtt = co_await link.pipe->ping(std::chrono::milliseconds(args.wait_ms));
            rtts.push_back(static_cast<double>(rtt.count()) / 1000.0);
            std::cout << fmt::format("ping {}: rtt {:.3f} ms, {}, plugin {}", seq, rtts.back(), path_of(*link.pipe), link.plugin) << std::endl;
        } catch (const Exception& e) {
            if (e.errc() != Errc::timeout) throw;
            std::cout << fmt::format("ping {}: no answer within {} ms", seq, args.wait_ms) << std::endl;
        }
        if (seq == args.count) break;
        pause.expires_at(sent_at + std::chrono::milliseconds(args.interval_ms));
        co_await pause.async_wait(asio::use_awaitable);
    }
    auto summary = fmt::format("{} sent, {} answered", args.count, rtts.size());
    if (!rtts.empty())
        summary += fmt::format(", rtt min/median/max {:.3f}/{:.3f}/{:.3f} ms", *std::min_element(rtts.begin(), rtts.end()), median(rtts),
                               *std::max_element(rtts.begin(), rtts.end()));
    std::cout << summary << std::endl;
    link.pipe->close();
    co_await node.close();
    co_return rtts.empty() ? 1 : 0;
}

}  // namespace

void add_ping_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("ping", "Link to a peer and ping it over that link: round trip, path and plugin per ping");
    auto args = std::make_shared<PingArgs>();
    args->dial.add_to(*cmd, true);
    cmd->add_option("--count", args->count, "Pings to send (default 4)")->check(CLI::Range(1, 1000000));
    cmd->add_option("--interval", args->interval_ms, "Milliseconds from one ping to the next (default 1000)")->check(CLI::Range(1, 3600000));
    cmd->add_option("--wait", args->wait_ms, "Milliseconds to wait for each answer (default 1000)")->check(CLI::Range(1, 3600000));
    cmd->callback([&action, args] {
        action = [args] { return run([args](asio::io_context& io) { return run_ping(io, *args); }); };
    });
}

}  // namespace warpgate::cli
