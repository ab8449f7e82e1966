// Shared pieces of the warpgate CLI's commands.
#pragma once
#include <CLI/CLI.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>
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

// Runs `body` on an io_context until it returns; SIGINT/SIGTERM cancel it. Returns its exit
// code, or 1 with the error printed on stderr.
int run(std::function<asio::awaitable<int>(asio::io_context&)> body);

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

}  // namespace warpgate::cli
