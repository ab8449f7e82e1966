#include "cli.hpp"

#include <asio/co_spawn.hpp>
#include <asio/signal_set.hpp>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sstream>
#include <warpgate/log.hpp>

namespace warpgate::cli {

void NodeFlags::add_to(CLI::App& cmd) {
    cmd.add_option("--config", config_file, "JSON config file (fields of NodeConfig; \"preset\": \"production\" or \"test\")")
        ->check(CLI::ExistingFile);
    cmd.add_flag("--test", test, "Use the test preset: no UPnP, MQTT, NTP, STUN or nickname (nothing leaves the machine)");
    cmd.add_option("--port", port, "Listen port for TCP and UDP (0: any free port; default: derived from the machine id)");
    cmd.add_option("--ip", ips, "Listen only on this IP (repeatable), e.g. 127.0.0.1");
    cmd.add_option("--stun", stun, "STUN server HOST:PORT (repeatable); turns STUN on even with --test");
    cmd.add_option("--mqtt", mqtt, "MQTT broker HOST:PORT (repeatable); turns signaling on even with --test");
    cmd.add_option("--ntp", ntp, "NTP server HOST[:PORT] (repeatable, default port 123); turns the clock sync on even with --test");
    cmd.add_option("--turn", turn, "TURN server HOST:PORT (repeatable, tried in order; default port 3478); enables the turn plugin even with --test");
    cmd.add_option("--turn-user", turn_user, "TURN username (long-term credentials)");
    cmd.add_option("--turn-pass", turn_pass, "TURN password");
    cmd.add_option("--turn-transport", turn_transport, "How to reach the TURN servers: udp, tcp or tls (a network that blocks UDP)")
        ->check(CLI::IsMember({"udp", "tcp", "tls"}));
    cmd.add_option("--turn-ca", turn_ca, "TLS: verify the TURN server against this CA file (PEM) instead of the system's roots")
        ->check(CLI::ExistingFile);
    add_port_mapping_flags(cmd, port_mapping);
    cmd.add_option("--pnp", pnp, "Nickname server HOST:PORT=PUBKEY (repeatable; docs/pnp.md); turns nicknames on even with --test");
    cmd.add_option("--nickname", nickname, "The nickname the node registers at start (default: its node id)");
    cmd.add_flag("-v,--verbose", verbose, "Print start phases and debug logs on stderr");
}

void add_port_mapping_flags(CLI::App& cmd, std::string& protocol) {
    cmd.add_flag_callback("--upnp", [&protocol] { protocol = "upnp"; }, "Map the listen port on the router by UPnP-IGD");
    cmd.add_flag_callback("--pcp", [&protocol] { protocol = "pcp"; }, "Map the listen port on the router by PCP (RFC 6887)");
    cmd.add_flag_callback("--natpmp", [&protocol] { protocol = "natpmp"; }, "Map the listen port on the router by NAT-PMP (RFC 6886)");
    cmd.add_option("--port-mapping", protocol, "Map the listen port: any (PCP, NAT-PMP, then UPnP-IGD), pcp, natpmp or upnp")
        ->check(CLI::IsMember({"any", "pcp", "natpmp", "upnp"}));
}

void apply_port_mapping(const std::string& protocol, NodeConfig& conf) {
    if (protocol.empty()) return;
    conf.enable_upnp = true;
    conf.port_mapping_protocol = value_or_throw(parse_port_mapping_protocol(protocol));
}

std::string describe(const PortMapping& m) {
    return fmt::format("{} {} {} -> {}, lease {} s{}", to_string(m.protocol), to_string(m.transport), m.external.to_string(),
                       m.internal.to_string(), m.lease.count(), m.restored ? fmt::format(", restored {} times", m.restored) : "");
}

nlohmann::json to_json(const PortMapping& m) {
    return {{"protocol", to_string(m.protocol)}, {"transport", to_string(m.transport)}, {"external", m.external.to_string()},
            {"internal", m.internal.to_string()}, {"lease_s", m.lease.count()}, {"restored", m.restored}};
}

namespace {

NodeConfig load_node_config(const NodeFlags& flags) {
    if (flags.config_file.empty()) return flags.test ? NodeConfig::test() : NodeConfig::production();
    std::ifstream in(flags.config_file);
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false, true);
    if (json.is_object() && !json.contains("preset")) json["preset"] = flags.test ? "test" : "production";
    auto config = load_config_json(json.is_discarded() ? text.str() : json.dump());
    if (!config) throw Exception(config.error().code, flags.config_file + ": " + config.error().message);
    return *config;
}

std::vector<HostPort> parse_servers(const std::vector<std::string>& list, std::uint16_t default_port, const char* flag) {
    std::vector<HostPort> out;
    for (auto& text : list) {
        auto hp = HostPort::parse(text, default_port);
        if (!hp) throw Exception(Errc::config, std::string(flag) + " " + text + ": " + hp.error().message);
        out.push_back(*hp);
    }
    return out;
}

}  // namespace

NodeOptions NodeFlags::node_options() const {
    NodeOptions options;
    options.conf = load_node_config(*this);
    options.port = port;
    if (dialler && !port) options.port = 0;
    for (auto& text : ips) {
        asio::error_code ec;
        auto ip = asio::ip::make_address(text, ec);
        if (ec) throw Exception(Errc::config, "--ip " + text + ": not an IP address");
        options.ips.push_back(ip);
    }
    if (!stun.empty()) {
        options.conf.stun_servers = parse_servers(stun, 3478, "--stun");
        options.conf.enable_stun_clients = true;
    }
    if (!mqtt.empty()) {
        options.conf.mqtt_servers = parse_servers(mqtt, 1883, "--mqtt");
        options.conf.sig_pipe_no = std::max(options.conf.sig_pipe_no, 1);
    }
    if (!ntp.empty()) {
        options.conf.ntp_servers = parse_servers(ntp, 123, "--ntp");
        options.conf.init_clock_skew = true;
    }
    if (!turn.empty()) {
        options.conf.turn_servers.clear();
        auto transport = value_or_throw(parse_turn_transport(turn_transport));
        for (auto& server : parse_servers(turn, 3478, "--turn"))
            options.conf.turn_servers.push_back({server, turn_user, turn_pass, {}, transport, turn_ca});
    }
    apply_port_mapping(port_mapping, options.conf);
    if (!pnp.empty()) {
        options.conf.nickname_servers.clear();
        for (auto& text : pnp) options.conf.nickname_servers.push_back(value_or_throw(NicknameServer::parse(text)));
        options.conf.enable_nickname = true;
    }
    if (!nickname.empty()) options.conf.nickname = nickname;
    if (verbose) spdlog::set_level(spdlog::level::debug);
    return options;
}

std::function<void(std::string_view)> progress_printer(bool verbose) {
    if (!verbose) return {};
    return [](std::string_view line) { std::cerr << "start " << line << std::endl; };
}

int run(std::function<asio::awaitable<int>(asio::io_context&)> body, OnSignal on_signal) {
    // Logs go to stderr: stdout carries the command's output (addresses, messages, JSON).
    spdlog::set_default_logger(warpgate::logger());  // the library's, on stderr
    if (spdlog::get_level() != spdlog::level::debug) spdlog::set_level(spdlog::level::warn);
    asio::io_context io;
    int code = 1;
    bool signalled = false;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::cancellation_signal cancel;
    signals.async_wait([&](asio::error_code ec, int) {
        if (ec) return;
        signalled = true;
        cancel.emit(asio::cancellation_type::terminal);
    });
    asio::co_spawn(io, body(io), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, int result) {
        // SIGINT and SIGTERM get their default action back: should anything keep io.run()
        // from returning now, a signal still ends the process instead of being queued.
        signals.clear();
        signals.cancel();
        if (!e) {
            code = result;
            return;
        }
        // Whatever the cancelled body threw on its way out (an aborted wait, a cancelled
        // connect) is the signal's doing, not an error to report.
        if (signalled) {
            if (on_signal == OnSignal::stop_service) {
                code = 0;
                return;
            }
            std::cerr << "warpgate: interrupted" << std::endl;
            code = 130;
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const Exception& ex) {
            std::cerr << "warpgate: " << ex.error().to_string() << std::endl;
            code = ex.errc() == Errc::config || ex.errc() == Errc::malformed ? 2 : 1;
        } catch (const std::exception& ex) {
            std::cerr << "warpgate: " << ex.what() << std::endl;
        }
    }));
    io.run();
    return code;
}

}  // namespace warpgate::cli
