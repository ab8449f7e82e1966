// warpgate pipe listen|connect: stdin and stdout through a link, as iroh's dumbpipe or socat
// carry them. The end of stdin closes this side's half (stream_relay.hpp); the command exits 0
// once both halves ended, 1 when the link broke before the peer's end came.
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <iostream>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli.hpp"
#include "stream_relay.hpp"

namespace warpgate::cli {
namespace {

// stdin to the peer, the peer to stdout. stdout is closed at the peer's end, so a reader
// downstream (sha256sum, tar) finishes while this side may still be sending.
asio::awaitable<void> relay_stdio(asio::io_context& io, Pipe& pipe) {
    asio::posix::stream_descriptor in(io, STDIN_FILENO);
    asio::posix::stream_descriptor out(io, STDOUT_FILENO);
    auto totals = co_await relay_stream(pipe, in, out, [&out] { out.close(); });
    spdlog::debug("pipe: sent {} bytes, received {} bytes", totals.sent, totals.received);
    pipe.close();
}

// The first inbound link; later ones are closed (stdin and stdout can serve one peer).
asio::awaitable<PipePtr> first_inbound(asio::io_context& io, Node& node) {
    auto first = std::make_shared<PipePtr>();
    auto arrived = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    node.on_inbound([first, arrived](PipePtr pipe) {
        if (*first) {
            spdlog::warn("pipe: refusing a second link from {}: this pipe already carries one", pipe->remote_endpoint().to_string());
            pipe->close();
            return;
        }
        *first = std::move(pipe);
        arrived->cancel();
    });
    asio::error_code ec;
    co_await arrived->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*first) throw Exception(Errc::cancelled, "stopped before a peer linked");
    co_return *first;
}

void add_pipe_listen(CLI::App& pipe_cmd, std::function<int()>& action) {
    auto* cmd = pipe_cmd.add_subcommand("listen", "Print this node's address (on stderr), wait for one peer, then carry stdin/stdout");
    auto flags = std::make_shared<ListenFlags>();
    flags->add_to(*cmd);
    cmd->get_option("--json")->description("Print the listening event (address) as a JSON line on stderr");
    cmd->callback([&action, flags] {
        action = [flags] {
            return run(
                [flags](asio::io_context& io) -> asio::awaitable<int> {
                    Node node(io.get_executor(), flags->node.node_options());
                    co_await node.start({progress_printer(flags->node.verbose)});
                    announce_listening(node, *flags, std::cerr);
                    auto pipe = co_await first_inbound(io, node);
                    spdlog::info("pipe: link from {} ({})", pipe->remote_endpoint().to_string(), path_of(*pipe));
                    co_await relay_stdio(io, *pipe);
                    co_await node.close();
                    co_return 0;
                },
                OnSignal::stop_service);
        };
    });
}

void add_pipe_connect(CLI::App& pipe_cmd, std::function<int()>& action) {
    auto* cmd = pipe_cmd.add_subcommand("connect", "Link to a `pipe listen` peer and carry stdin/stdout");
    auto flags = std::make_shared<DialFlags>();
    flags->add_to(*cmd, false);
    cmd->callback([&action, flags] {
        action = [flags] {
            return run(
                [flags](asio::io_context& io) -> asio::awaitable<int> {
                    auto dialler = co_await start_dialler(io, *flags);
                    auto& node = *dialler.node;
                    auto link = co_await auto_connect(node, dialler.peer, dialler.options);
                    spdlog::info("pipe: connected ({}, {})", link.plugin, path_of(*link.pipe));
                    co_await relay_stdio(io, *link.pipe);
                    co_await node.close();
                    co_return 0;
                },
                OnSignal::stop_service);
        };
    });
}

}  // namespace

void add_pipe_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("pipe", "stdin/stdout through a link (like dumbpipe or socat); exits 0 when both sides' input ended");
    cmd->require_subcommand(1);
    add_pipe_listen(*cmd, action);
    add_pipe_connect(*cmd, action);
}

}  // namespace warpgate::cli
