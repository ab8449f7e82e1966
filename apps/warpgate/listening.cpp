// What every waiting command shares (listen, pipe listen, forward listen): --addr-out, --json
// and the "listening" announcement.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"

namespace warpgate::cli {

void ListenFlags::add_to(CLI::App& cmd) {
    node.add_to(cmd);
    cmd.add_option("--addr-out", addr_out, "Also write the node's address (text form) to FILE");
    cmd.add_flag("--json", json, "Print events as JSON lines");
}

void print_json_line(std::ostream& out, const nlohmann::json& event) {
    out << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

void announce_listening(const Node& node, const ListenFlags& flags, std::ostream& out) {
    if (!flags.addr_out.empty()) {
        std::ofstream file(flags.addr_out + ".tmp");
        file << node.address_text() << "\n";
        file.close();
        std::rename((flags.addr_out + ".tmp").c_str(), flags.addr_out.c_str());  // readers never see half a file
    }
    if (flags.json) {
        auto mappings = nlohmann::json::array();
        for (auto& m : node.port_mappings()) mappings.push_back(to_json(m));
        print_json_line(out, {{"event", "listening"}, {"port", node.listen_port()}, {"node_id", node.node_id()},
                              {"address", node.address_text()}, {"port_mappings", mappings}});
        return;
    }
    out << "listening on port " << node.listen_port() << " as " << node.node_id() << "\n";
    for (auto& m : node.port_mappings()) out << "port mapping: " << describe(m) << "\n";
    out << node.address_text() << std::endl;
}

}  // namespace warpgate::cli
