// warpgate-pnpd: the PNP name server (docs/pnp.md). `warpgate-pnpd --config FILE` serves until
// SIGTERM or SIGINT; `--print-public-key` prints the key clients name it by (creating the key
// file when absent) and exits.
#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "name_store.hpp"
#include "pnp_server.hpp"
#include "pnpd_config.hpp"

using namespace warpgate;

namespace {

int run(const pnpd::PnpdConfig& config) {
    auto key = pnpd::load_or_create_key(config.key_file);
    if (!key) throw Exception(key.error());
    auto store = pnpd::open_store(config.store);
    if (!store) throw Exception(store.error());
    asio::io_context io;
    pnpd::PnpServer server(io.get_executor(), config, *key, **store);
    if (auto r = server.listen(); !r) throw Exception(r.error());
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const asio::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("signal {}: stopping", signal);
        server.stop();
    });
    asio::co_spawn(io, server.run(), [&](std::exception_ptr e) {
        signals.cancel();
        if (e) std::rethrow_exception(e);
    });
    spdlog::info("warpgate-pnpd serving on udp+tcp {} with public key {}, store {}", server.local_endpoint().to_string(),
                 to_hex(key->public_key()), (*store)->describe());
    io.run();
    spdlog::info("stopped: {}", server.counters().describe());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    // Logs to stderr (journald under systemd); stdout carries only --print-public-key's answer.
    spdlog::set_default_logger(spdlog::stderr_color_mt("warpgate-pnpd"));
    CLI::App app{"warpgate-pnpd: the PNP nickname server (docs/pnp.md)"};
    std::string config_file;
    bool print_key = false;
    app.add_option("--config", config_file, "JSON config file (docs/pnp.md)")->required();
    app.add_flag("--print-public-key", print_key, "Print the server's public key (hex) and exit");
    CLI11_PARSE(app, argc, argv);
    try {
        auto config = pnpd::PnpdConfig::load(config_file);
        if (!config) throw Exception(config.error());
        spdlog::set_level(spdlog::level::from_str(config->log_level));
        if (print_key) {
            auto key = pnpd::load_or_create_key(config->key_file);
            if (!key) throw Exception(key.error());
            std::cout << to_hex(key->public_key()) << "\n";
            return 0;
        }
        return run(*config);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
}
