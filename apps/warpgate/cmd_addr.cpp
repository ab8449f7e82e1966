// warpgate addr: start a node, print its address, exit.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace warpgate::cli {

nlohmann::json node_json(Node& node) {
    nlohmann::json ifs = nlohmann::json::array();
    for (auto& nic : node.interfaces()) {
        nlohmann::json addrs = nlohmann::json::array();
        for (auto& a : nic.addresses) addrs.push_back(a.ip.to_string() + "/" + std::to_string(a.prefix_len));
        ifs.push_back({{"name", nic.name}, {"index", nic.index}, {"mac", nic.mac}, {"addresses", addrs},
                       {"gateway_v4", nic.gateway_v4 ? nic.gateway_v4->to_string() : ""},
                       {"gateway_v6", nic.gateway_v6 ? nic.gateway_v6->to_string() : ""}});
    }
    nlohmann::json families = nlohmann::json::array();
    for (auto f : node.supported()) families.push_back(to_string(f));
    nlohmann::json phases = nlohmann::json::array();
    for (auto& p : node.phases()) phases.push_back({{"name", p.name}, {"ms", p.duration.count() / 1000.0}, {"outcome", p.outcome}});
    // What the shared address carries per interface and family: the external view from STUN.
    nlohmann::json entries = nlohmann::json::array();
    for (auto family : {IP4, IP6})
        for (auto& e : node.node_address().entries(family))
            entries.push_back({{"if_index", e.if_index}, {"nic_ip", e.nic_ip.to_string()}, {"external_ip", e.external_ip.to_string()},
                               {"port", e.port}, {"external_port", e.external_endpoint().port},
                               {"nat_type", to_string(e.nat.type)}, {"mapping", to_string(e.nat.mapping)}, {"delta_type", to_string(e.nat.delta_type)},
                               {"delta_value", e.nat.delta_value}});
    nlohmann::json listening = nlohmann::json::array();
    for (auto& e : node.listening()) listening.push_back(e.to_string());
    auto clock = node.clock_reading();
    auto as_ms = [](std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); };
    nlohmann::json clock_json{{"synced", clock.synced}, {"offset_ms", as_ms(clock.offset)},
                              {"uncertainty_ms", as_ms(clock.uncertainty)}, {"summary", clock.summary}};
    return {{"address", node.address_text()}, {"node_id", node.node_id()}, {"port", node.listen_port()},
            {"listening", listening}, {"entries", entries}, {"interfaces", ifs}, {"families", families}, {"phases", phases},
            {"clock", clock_json}};
}

void add_addr_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("addr", "Start a node, print its address (share it with a peer), and exit");
    auto flags = std::make_shared<NodeFlags>();
    auto json = std::make_shared<bool>(false);
    flags->add_to(*cmd);
    cmd->add_flag("--json", *json, "Print JSON: address, node_id, address entries (external IP and port, NAT), interfaces, families, time per start phase, clock offset");
    cmd->callback([&action, flags, json] {
        action = [flags, json] {
            return run([flags, json](asio::io_context& io) -> asio::awaitable<int> {
                Node node(io.get_executor(), flags->node_options());
                co_await node.start({progress_printer(flags->verbose)});
                if (*json) std::cout << node_json(node).dump(2) << std::endl;
                else std::cout << node.address_text() << std::endl;
                co_await node.close();
                co_return 0;
            });
        };
    });
}

}  // namespace warpgate::cli
