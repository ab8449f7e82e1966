// What every dialling command shares: TARGET (address, @FILE, nickname), --plugins, --timeout.
#include <fmt/format.h>
#include <fstream>
#include <warpgate/plugin.hpp>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

// Beyond a day a deadline is a mistake, and far beyond it steady_clock arithmetic overflows.
constexpr double max_timeout_s = 86400;

std::string read_address_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Exception(Errc::config, "cannot read address file " + path);
    std::string text;
    in >> text;
    if (text.empty())
        throw Exception(Errc::config, "address file " + path + " is empty (a listener writes it with --addr-out once it has started)");
    return text;
}

}  // namespace

void DialFlags::add_to(CLI::App& cmd, bool with_transport) {
    node.dialler = true;
    node.add_to(cmd);
    cmd.add_option("target", target, "Peer address text (wg1...), @FILE holding it, or a nickname")->required();
    cmd.add_option("--plugins", plugins, "Only these traversal plugins, comma separated (e.g. direct_connect)")->delimiter(',');
    cmd.add_option("--timeout", timeout_s, fmt::format("Overall connect timeout in seconds (up to {:.0f})", max_timeout_s))
        ->check(CLI::Range(0.001, max_timeout_s));
    cmd.add_option("--relay-after", relay_after_s,
                   "Seconds a TURN relay waits for a direct path to link first (the relay budget; default 1)")
        ->check(CLI::Range(0.0, max_timeout_s));
    if (with_transport) cmd.add_option("--transport", transport, "tcp or udp")->check(CLI::IsMember({"tcp", "udp"}));
}

std::chrono::milliseconds DialFlags::timeout() const { return std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000)); }

ConnectOptions DialFlags::connect_options() const {
    auto builtin = PluginRegistry::builtin();
    for (auto& wanted : plugins) {
        if (builtin.find(wanted)) continue;
        std::vector<std::string_view> names;
        for (auto& p : builtin.all()) names.push_back(p->name());
        throw Exception(Errc::config, fmt::format("--plugins: no plugin named '{}' (valid: {})", wanted, fmt::join(names, ", ")));
    }
    ConnectOptions options;
    options.transport = value_or_throw(parse_transport(transport));
    options.timeout = timeout();
    options.plugins = plugins;
    options.relay_after = std::chrono::milliseconds(static_cast<std::int64_t>(relay_after_s * 1000));
    return options;
}

asio::awaitable<NodeAddress> resolve_target(asio::io_context& io, const NodeConfig& conf, const std::string& target) {
    auto text = target.starts_with('@') ? read_address_file(target.substr(1)) : target;
    if (!text.starts_with("wg1")) {
        auto resolved = co_await resolve_nickname(io, conf, text);
        text = std::move(resolved);
    }
    co_return value_or_throw(parse_address_text(text));
}

asio::awaitable<Dialler> start_dialler(asio::io_context& io, const DialFlags& flags) {
    auto node_options = flags.node.node_options();
    Dialler dialler;
    dialler.options = flags.connect_options();
    auto peer = co_await resolve_target(io, node_options.conf, flags.target);
    dialler.peer = std::move(peer);
    StartOptions start;
    start.progress = progress_printer(flags.node.verbose);
    auto node = co_await Node::open(io.get_executor(), std::move(node_options), start);
    dialler.node = std::move(node);
    co_return dialler;
}

std::string path_of(const Pipe& pipe) { return std::string(pipe.relayed() ? "relayed " : "direct ") + to_string(pipe.transport()); }

}  // namespace warpgate::cli
