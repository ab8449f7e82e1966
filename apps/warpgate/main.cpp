#include <spdlog/spdlog.h>
#include <warpgate/version.hpp>

#include "cli.hpp"

int main(int argc, char** argv) {
    CLI::App app{"warpgate: connect two computers directly, whatever routers, firewalls or NATs stand between them."};
    app.set_version_flag("--version", "warpgate " + std::string(warpgate::version()));
    app.require_subcommand(1);
    std::function<int()> action;
    warpgate::cli::add_addr_command(app, action);
    warpgate::cli::add_listen_command(app, action);
    warpgate::cli::add_connect_command(app, action);
    warpgate::cli::add_demo_command(app, action);
    warpgate::cli::add_nat_command(app, action);
    warpgate::cli::add_nickname_command(app, action);
    warpgate::cli::add_pipe_command(app, action);
    warpgate::cli::add_forward_command(app, action);
    warpgate::cli::add_ping_command(app, action);
    CLI11_PARSE(app, argc, argv);
    return action ? action() : 2;
}
