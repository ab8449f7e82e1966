// Shared pieces of the warpgate CLI's commands.
#pragma once
#include <CLI/CLI.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/auto_connect.hpp>
#include <warpgate/node.hpp>

namespace warpgate::cli {

// Options every node-running command takes.
struct NodeFlags {
    std::string config_file;
    bool test = false;
    std::optional<std::uint16_t> port;
    std::vector<std::string> ips;
    std::vector<std::string> stun;
    std::vector<std::string> mqtt;
    std::vector<std::string> ntp;
    // --turn HOST:PORT (repeatable, tried in order), all with the same credentials and transport.
    std::vector<std::string> turn;
    std::string turn_user;
    std::string turn_pass;
    std::string turn_transport = "udp";
    std::string turn_ca;
    std::string port_mapping;  // --upnp, --pcp, --natpmp, --port-mapping P: protocol name
    std::vector<std::string> pnp;  // HOST:PORT=PUBKEY
    std::string nickname;
    bool verbose = false;
    // A node that only dials (connect, ping, pipe/forward connect): without --port it takes any
    // free port, so it runs beside a listener on the same machine (which holds the derived
    // port) and a second run is never refused by the first run's TIME_WAIT connections.
    bool dialler = false;

    void add_to(CLI::App& cmd);
    // The config (file, presets, overrides) and node options these flags describe.
    NodeOptions node_options() const;
};

// --upnp, --pcp, --natpmp (force one protocol) and --port-mapping any|pcp|natpmp|upnp, into
// `protocol`; apply_port_mapping() turns a config's enable_upnp on with that protocol.
void add_port_mapping_flags(CLI::App& cmd, std::string& protocol);
void apply_port_mapping(const std::string& protocol, NodeConfig& conf);
// "pcp TCP 198.51.100.2:40000 -> 10.1.0.2:40000, lease 3600 s" and its JSON object.
std::string describe(const PortMapping& mapping);
nlohmann::json to_json(const PortMapping& mapping);

// What SIGINT/SIGTERM mean to a command: the end of a service (listen, pipe, forward: exit 0,
// nothing printed) or an interruption of a one-shot command (exit 130, "interrupted").
enum class OnSignal { interrupt, stop_service };

// Runs `body` on an io_context until it returns; SIGINT/SIGTERM cancel it. Returns its exit
// code, or 1 with the error printed on stderr.
int run(std::function<asio::awaitable<int>(asio::io_context&)> body, OnSignal on_signal = OnSignal::interrupt);

// The options of every command that dials a peer: the node's, TARGET, --plugins, --timeout.
struct DialFlags {
    NodeFlags node;
    std::string target;
    std::vector<std::string> plugins;
    double timeout_s = 10;
    double relay_after_s = 1;
    std::string transport = "tcp";

    // with_transport: --transport tcp|udp (connect, ping); byte streams are always TCP.
    void add_to(CLI::App& cmd, bool with_transport);
    std::chrono::milliseconds timeout() const;
    // Checks --plugins against this build's plugins (the error lists them).
    ConnectOptions connect_options() const;
};

// A started node and the peer it is to dial, with the connect options the flags give.
struct Dialler {
    std::unique_ptr<Node> node;
    NodeAddress peer;
    ConnectOptions options;
};
// Checks the flags, resolves TARGET, starts the node.
asio::awaitable<Dialler> start_dialler(asio::io_context& io, const DialFlags& flags);

// The peer's address from TARGET: address text (wg1...), @FILE holding it, or a nickname
// resolved on conf's nickname servers.
asio::awaitable<NodeAddress> resolve_target(asio::io_context& io, const NodeConfig& conf, const std::string& target);

// "direct TCP", "relayed UDP": the pipe's current path.
std::string path_of(const Pipe& pipe);

// The options of every command that waits for peers: the node's, --addr-out, --json.
struct ListenFlags {
    NodeFlags node;
    std::string addr_out;
    bool json = false;
    void add_to(CLI::App& cmd);
};

// Writes --addr-out and prints where the node listens to `out` ("listening on port P as ID",
// port mappings, the address text; with --json one "listening" event line).
void announce_listening(const Node& node, const ListenFlags& flags, std::ostream& out);

// One JSON line (invalid UTF-8 in messages replaced, never a throw).
void print_json_line(std::ostream& out, const nlohmann::json& event);

// Progress lines to stderr when verbose.
std::function<void(std::string_view)> progress_printer(bool verbose);

// The address text a nickname ("alice" or "alice.p2p") resolves to on conf's nickname servers.
asio::awaitable<std::string> resolve_nickname(asio::io_context& io, const NodeConfig& conf, std::string_view name);

void add_nickname_command(CLI::App& app, std::function<int()>& action);
void add_addr_command(CLI::App& app, std::function<int()>& action);
void add_listen_command(CLI::App& app, std::function<int()>& action);
void add_connect_command(CLI::App& app, std::function<int()>& action);
void add_demo_command(CLI::App& app, std::function<int()>& action);
void add_nat_command(CLI::App& app, std::function<int()>& action);
void add_pipe_command(CLI::App& app, std::function<int()>& action);
void add_forward_command(CLI::App& app, std::function<int()>& action);
void add_ping_command(CLI::App& app, std::function<int()>& action);

}  // namespace warpgate::cli
