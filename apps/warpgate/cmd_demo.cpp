// warpgate demo: two peers in one process, on this machine's loopback, find each other by
// auto_connect and talk, printing each step. No root, no internet.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <stdlib.h>
#include <warpgate/gate.hpp>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

std::filesystem::path private_temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "warpgate-demo-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw Exception(Errc::io, "cannot create a temporary directory under " + std::filesystem::temp_directory_path().string());
    return pattern;
}

void step(std::string_view text) { std::cout << "demo: " << text << std::endl; }

asio::awaitable<void> echo_links(Gate& bravo) {
    for (;;) {
        auto link = std::make_shared<Link>(co_await bravo.accept(std::chrono::hours(1)));
        step(fmt::format("bravo accepted a {} link from {}", to_string(link->transport()), link->remote_endpoint().to_string()));
        asio::co_spawn(bravo.node().get_executor(), [link]() -> asio::awaitable<void> {
            try {
                for (;;) {
                    auto message = co_await link->recv(std::chrono::hours(1));
                    step(fmt::format("bravo got \"{}\", echoing it back", as_chars(message)));
                    co_await link->send(message);
                }
            } catch (const Exception& e) {
                step("bravo's link ended: " + e.error().message);
            }
        }, asio::detached);
    }
}

asio::awaitable<void> talk(Gate& alpha, const std::string& bravo_address, Transport transport) {
    step(fmt::format("alpha connects to bravo over {} (auto_connect races every route)", to_string(transport)));
    auto begin = std::chrono::steady_clock::now();
    auto link = co_await alpha.connect(bravo_address, {transport, std::chrono::seconds(5)});
    auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
    step(fmt::format("connected in {:.2f} ms by {}", took, alpha.last_connect().attempt.describe()));
    step(fmt::format("the link is {}; the handshake proved the peer is {}", link.encrypted() ? "encrypted" : "plaintext", link.peer_id()));
    for (auto& phase : alpha.last_connect().phases)
        for (auto& a : phase.attempts) step(fmt::format("  tried {}: {}", a.attempt, a.outcome));
    for (auto text : {"Hello world", "How are you, bravo?"}) {
        step(fmt::format("alpha sends \"{}\"", text));
        co_await link.send(std::string_view(text));
        auto reply = co_await link.recv(std::chrono::seconds(5));
        if (as_chars(reply) != text) throw Exception(Errc::malformed, "echo does not match what was sent");
        step(fmt::format("alpha got the echo \"{}\"", as_chars(reply)));
    }
    link.close();
}

}  // namespace

void add_demo_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("demo", "Two peers in this process connect through auto_connect and exchange messages");
    auto verbose = std::make_shared<bool>(false);
    cmd->add_flag("-v,--verbose", *verbose, "Print start phases and debug logs");
    cmd->callback([&action, verbose] {
        action = [verbose] {
            if (*verbose) spdlog::set_level(spdlog::level::debug);
            return run([verbose](asio::io_context& io) -> asio::awaitable<int> {
                // Keys of the demo's two identities live in a private scratch directory (mode
                // 0700, a fresh name per run), not the user's and not one another user could
                // prepare in the shared temp directory; it is removed at the end.
                auto dir = private_temp_dir();
                struct RemoveAtEnd {
                    std::filesystem::path dir;
                    ~RemoveAtEnd() {
                        std::error_code ec;
                        std::filesystem::remove_all(dir, ec);
                    }
                } cleanup{dir};
                GateOptions options;
                options.conf = NodeConfig::test();
                options.conf.install_path = dir;
                options.ips = {asio::ip::make_address("127.0.0.1")};
                options.port = 0;
                options.progress = progress_printer(*verbose);
                step("starting two nodes, alpha and bravo, on 127.0.0.1 with the test preset");
                auto alpha = co_await Gate::open(io.get_executor(), "alpha", options);
                auto bravo = co_await Gate::open(io.get_executor(), "bravo", options);
                step(fmt::format("alpha is {} on port {}", alpha.node().node_id(), alpha.node().listen_port()));
                step(fmt::format("bravo is {} on port {}", bravo.node().node_id(), bravo.node().listen_port()));
                step("bravo's address, as a user would share it: " + bravo.address_text());
                asio::co_spawn(io, echo_links(bravo), asio::detached);
                co_await talk(alpha, bravo.address_text(), TCP);
                co_await talk(alpha, bravo.address_text(), UDP);
                co_await alpha.close();
                co_await bravo.close();
                step("both nodes closed: OK");
                co_return 0;
            });
        };
    });
}

}  // namespace warpgate::cli
