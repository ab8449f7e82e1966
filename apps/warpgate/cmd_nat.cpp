// warpgate nat: per interface and family, the external address (UDP and TCP), NAT type, mapping
// behaviour and delta type as
// STUN servers see them (RFC 5780 behaviour discovery), and which servers answered and agreed;
// with --upnp/--pcp/--natpmp/--port-mapping, what the router maps for a port, by which
// protocol and for how long (the mapping is removed again before exit).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "nat/nat_discovery.hpp"
#include "nat/port_mapper.hpp"

namespace warpgate::cli {
namespace {

struct NatFlags {
    std::string config_file;
    std::vector<std::string> stun;
    std::vector<std::string> ips;
    std::string port_mapping;
    std::uint16_t port = 0;
    bool test = false;
    bool json = false;
    bool verbose = false;
};

struct Measured {
    const Interface* nic;
    asio::ip::address ip;
    Result<nat::NatReport> report;
};

// The first address per interface and family, or exactly the --ip ones.
std::vector<std::pair<const Interface*, asio::ip::address>> addresses_to_measure(const std::vector<Interface>& ifs,
                                                                                  const std::vector<asio::ip::address>& only) {
    std::vector<std::pair<const Interface*, asio::ip::address>> out;
    for (auto& nic : ifs) {
        for (auto family : {IP4, IP6}) {
            for (auto& a : nic.addresses_of(family)) {
                bool wanted = only.empty() || std::find(only.begin(), only.end(), a.ip) != only.end();
                if (!wanted) continue;
                out.emplace_back(&nic, a.ip);
                if (only.empty()) break;
            }
        }
    }
    return out;
}

// A report no server answered says "blocked", but that is not a measurement: the servers may
// be down as well as UDP blocked here.
bool any_answered(const Measured& m) {
    return m.report && std::any_of(m.report->servers.begin(), m.report->servers.end(), [](auto& s) { return s.answered; });
}

constexpr const char* no_answer = "no STUN server answered (is the server running and reachable? is UDP blocked here?)";

nlohmann::json to_json(const Measured& m) {
    nlohmann::json j{{"interface", m.nic->name}, {"index", m.nic->index}, {"family", to_string(family_of(m.ip))},
                     {"local_ip", m.ip.to_string()}};
    if (!m.report) {
        j["error"] = m.report.error().message;
        return j;
    }
    const auto& r = *m.report;
    if (!any_answered(m)) j["error"] = no_answer;
    j["external"] = r.external ? r.external->to_string() : "";
    j["nat_type"] = to_string(r.nat.type);
    j["nat_type_code"] = static_cast<int>(r.nat.type);
    j["mapping"] = to_string(r.nat.mapping);
    j["servers_disagree"] = r.servers_disagree;
    j["tcp_external"] = r.tcp_external ? r.tcp_external->to_string() : "";
    if (!r.tcp_external) j["tcp_note"] = r.tcp_note;
    j["local"] = r.observations.local.to_string();
    j["rtt_ms"] = static_cast<double>(r.rtt.count()) / 1000.0;
    j["delta_type"] = to_string(r.nat.delta_type);
    j["delta_type_code"] = static_cast<int>(r.nat.delta_type);
    j["delta_value"] = r.nat.delta_value;
    j["filtering_tested"] = r.observations.filtering_testable;
    j["tested_with"] = r.tested_with ? r.tested_with->to_string() : "";
    nlohmann::json servers = nlohmann::json::array();
    for (auto& s : r.servers)
        servers.push_back({{"server", s.server.to_string()}, {"answered", s.answered}, {"mapped", s.mapped ? s.mapped->to_string() : ""},
                           {"agrees", s.agrees}, {"note", s.note}});
    j["servers"] = servers;
    nlohmann::json samples = nlohmann::json::array();
    for (auto& p : r.port_samples) samples.push_back({{"local", p.local}, {"mapped", p.mapped}});
    j["port_samples"] = samples;
    return j;
}

void print_text(const Measured& m) {
    std::cout << m.nic->name << " " << to_string(family_of(m.ip)) << " " << m.ip.to_string() << ": ";
    if (!m.report) {
        std::cout << "error: " << m.report.error().message << "\n";
        return;
    }
    const auto& r = *m.report;
    if (!any_answered(m)) std::cout << "error: " << no_answer << "\n";
    else
        std::cout << "external " << (r.external ? r.external->to_string() : "none") << ", NAT " << to_string(r.nat.type)
              << (r.observations.filtering_testable ? "" : " (filtering assumed: no RFC 5780 server)") << ", "
              << to_string(r.nat.mapping) << " mapping, delta " << to_string(r.nat.delta_type) << " " << r.nat.delta_value
              << ", TCP " << (r.tcp_external ? r.tcp_external->to_string() : "none") << (r.servers_disagree ? ", servers disagree" : "")
              << "\n";
    for (auto& s : r.servers)
        std::cout << "  " << s.server.to_string() << ": " << (s.answered ? "answered" : "no answer") << (s.note.empty() ? "" : ", " + s.note) << "\n";
}

// Maps `port` as a node would (nat/port_mapper.hpp), prints what the router granted, removes it.
asio::awaitable<nlohmann::json> show_port_mapping(asio::io_context& io, const NodeConfig& conf, std::uint16_t port, bool json) {
    nat::PortMapperOptions options;
    options.protocol = conf.port_mapping_protocol;
    options.timeout = conf.port_mapping_timeout;
    options.lease = std::chrono::duration_cast<std::chrono::seconds>(conf.port_mapping_lease);
    auto mapper = std::make_shared<nat::PortMapper>(io.get_executor(), options);
    auto outcome = co_await mapper->start(port);
    auto out = nlohmann::json{{"outcome", outcome}, {"mappings", nlohmann::json::array()}};
    for (auto& m : mapper->mappings()) out["mappings"].push_back(cli::to_json(m));
    if (!json) {
        std::cout << "port mapping of port " << port << ": " << (mapper->mappings().empty() ? outcome : "") << "\n";
        for (auto& m : mapper->mappings()) std::cout << "  " << describe(m) << "\n";
    }
    co_await mapper->close();
    co_return out;
}

asio::awaitable<int> run_nat(asio::io_context& io, const NatFlags& flags) {
    NodeFlags node_flags;  // reuses the config loading of the node commands
    node_flags.config_file = flags.config_file;
    node_flags.stun = flags.stun;
    node_flags.ips = flags.ips;
    node_flags.port_mapping = flags.port_mapping;
    node_flags.test = flags.test;
    node_flags.verbose = flags.verbose;
    auto options = node_flags.node_options();
    nlohmann::json mapping;
    if (!flags.port_mapping.empty()) {
        mapping = co_await show_port_mapping(io, options.conf, flags.port, flags.json);
        if (options.conf.stun_servers.empty()) {
            if (flags.json) std::cout << nlohmann::json{{"port_mapping", mapping}}.dump(2) << std::endl;
            co_return mapping["mappings"].empty() ? 1 : 0;
        }
    }
    if (options.conf.stun_servers.empty()) throw Exception(Errc::config, "no STUN servers: pass --stun HOST:PORT or a config with stun_servers");
    auto ifs = value_or_throw(discover_interfaces({.include_loopback = !options.ips.empty()}));
    nat::DiscoveryOptions discovery;
    discovery.client.udp = stun::RetransmitPolicy::within(options.conf.stun_timeout);

    std::vector<Measured> measured;
    auto addresses = addresses_to_measure(ifs, options.ips);
    for (auto& [nic, ip] : addresses) {
        // Awaited apart from the aggregate: GCC 12 mishandles co_await inside braced initializers.
        auto report = co_await nat::discover_nat(io.get_executor(), ip, options.conf.stun_servers, discovery);
        measured.push_back(Measured{nic, ip, std::move(report)});
    }
    if (measured.empty()) throw Exception(Errc::unreachable, "no interface address to measure");

    if (flags.json) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& m : measured) out.push_back(to_json(m));
        if (!mapping.is_null()) out = nlohmann::json{{"port_mapping", mapping}, {"stun", out}};
        std::cout << out.dump(2) << std::endl;
    } else {
        for (auto& m : measured) print_text(m);
        std::cout << std::flush;
    }
    co_return std::any_of(measured.begin(), measured.end(), any_answered) ? 0 : 1;
}

}  // namespace

void add_nat_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("nat", "Print each interface's external address, NAT type and delta type (STUN, RFC 5780)");
    auto flags = std::make_shared<NatFlags>();
    cmd->add_option("--config", flags->config_file, "JSON config file (its stun_servers and stun_timeout_ms are used)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--stun", flags->stun, "STUN server HOST:PORT (repeatable); replaces the configured list");
    cmd->add_option("--ip", flags->ips, "Measure only this local IP (repeatable), e.g. 10.1.0.2");
    cmd->add_flag("--test", flags->test, "Use the test preset (no STUN servers unless --stun; nothing leaves the machine)");
    add_port_mapping_flags(*cmd, flags->port_mapping);
    cmd->add_option("--port", flags->port, "The port to map (with a port mapping flag); default 40000")->default_val(40000);
    cmd->add_flag("--json", flags->json, "Print JSON: per interface and family, external address, types, servers, port samples");
    cmd->add_flag("-v,--verbose", flags->verbose, "Debug logs on stderr");
    cmd->callback([&action, flags] {
        action = [flags] { return run([flags](asio::io_context& io) { return run_nat(io, *flags); }); };
    });
}

}  // namespace warpgate::cli
