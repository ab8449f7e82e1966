// warpgate listen: run a node, accept links, print (or echo) what arrives, until a signal.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <fstream>
#include <iostream>

#include "cli.hpp"

namespace warpgate::cli {
namespace {

asio::awaitable<void> serve_link(PipePtr pipe, bool echo) {
    auto peer = pipe->remote_endpoint().to_string();
    std::cout << "link from " << peer << " (" << to_string(pipe->transport()) << ")" << std::endl;
    try {
        for (;;) {
            auto message = co_await pipe->recv(std::chrono::hours(24));
            std::cout << "[" << peer << "] " << as_chars(message) << std::endl;
            if (echo) co_await pipe->send(message);
        }
    } catch (const Exception& e) {
        std::cout << "link from " << peer << " ended: " << e.error().message << std::endl;
    }
}

}  // namespace

void add_listen_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("listen", "Run a node and accept links until SIGINT/SIGTERM");
    auto flags = std::make_shared<NodeFlags>();
    auto addr_out = std::make_shared<std::string>();
    auto echo = std::make_shared<bool>(false);
    flags->add_to(*cmd);
    cmd->add_option("--addr-out", *addr_out, "Also write the node's address (text form) to FILE");
    cmd->add_flag("--echo", *echo, "Send every received message back to its sender");
    cmd->callback([&action, flags, addr_out, echo] {
        action = [flags, addr_out, echo] {
            return run([=](asio::io_context& io) -> asio::awaitable<int> {
                Node node(io.get_executor(), flags->node_options());
                co_await node.start({progress_printer(flags->verbose)});
                node.on_inbound([&io, echo](PipePtr pipe) { asio::co_spawn(io, serve_link(pipe, *echo), asio::detached); });
                node.add_msg_cb([echo](Message m, Endpoint from, Pipe& pipe) -> asio::awaitable<void> {
                    std::cout << "[" << from.to_string() << "] " << as_chars(m) << std::endl;
                    if (*echo) co_await pipe.send(m);
                });
                if (!addr_out->empty()) {
                    std::ofstream out(*addr_out + ".tmp");
                    out << node.address_text() << "\n";
                    out.close();
                    std::rename((*addr_out + ".tmp").c_str(), addr_out->c_str());  // readers never see half a file
                }
                std::cout << "listening on port " << node.listen_port() << " as " << node.node_id() << "\n"
                          << node.address_text() << std::endl;
                // Sleeps until SIGINT/SIGTERM cancels this coroutine.
                asio::steady_timer forever(io, asio::steady_timer::time_point::max());
                asio::error_code ec;
                co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                std::cout << "closing" << std::endl;
                co_await asio::co_spawn(io, node.close(), asio::use_awaitable);  // outside the cancelled scope
                co_return 0;
            });
        };
    });
}

}  // namespace warpgate::cli
