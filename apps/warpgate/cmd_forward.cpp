// warpgate forward listen|connect: a local TCP port forwarded to a peer's, as `ssh -L` does.
// `forward connect` accepts local connections and carries each over its own link; `forward
// listen` connects each incoming link to its --to port. Both run until SIGINT/SIGTERM (exit 0).
#include <asio/ip/tcp.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "net/task_group.hpp"
#include "stream_relay.hpp"

namespace warpgate::cli {
namespace {

using asio::ip::tcp;

tcp::endpoint parse_local(const std::string& text, const char* flag) {
    auto at = Endpoint::parse(text);
    if (!at) throw Exception(Errc::config, std::string(flag) + " " + text + ": expected IP:PORT, e.g. 127.0.0.1:8080");
    return {at->ip, at->port};
}

// One TCP connection carried over one link, until both have ended.
asio::awaitable<void> carry(PipePtr pipe, tcp::socket socket, std::string what) {
    try {
        auto totals = co_await relay_stream(*pipe, socket, socket, [&socket] {
            asio::error_code ec;
            socket.shutdown(tcp::socket::shutdown_send, ec);
        });
        std::cout << what << " ended: " << totals.sent << " bytes sent, " << totals.received << " received" << std::endl;
    } catch (const std::exception& e) {
        std::cout << what << " failed: " << e.what() << std::endl;
    }
    pipe->close();
}

// Each inbound link gets its own connection to `to`; a link the port refuses is closed.
asio::awaitable<void> serve_link(PipePtr pipe, tcp::endpoint to) {
    auto what = "link from " + pipe->remote_endpoint().to_string() + " to " + to.address().to_string() + ":" + std::to_string(to.port());
    tcp::socket socket(pipe->get_executor());
    asio::error_code ec;
    co_await socket.async_connect(to, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        std::cout << what << " failed: " << ec.message() << std::endl;
        pipe->close();
        co_return;
    }
    std::cout << what << " (" << path_of(*pipe) << ")" << std::endl;
    co_await carry(pipe, std::move(socket), what);
}

// Sleeps until SIGINT/SIGTERM cancels the command, then ends every carried connection.
asio::awaitable<void> until_stopped(asio::io_context& io, net::TaskGroup& tasks, Node& node) {
    asio::steady_timer forever(io, asio::steady_timer::time_point::max());
    asio::error_code ec;
    co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_await asio::this_coro::reset_cancellation_state();
    tasks.cancel_all();
    // Closing the node ends every link, so no carried connection can outwait the stop.
    co_await asio::co_spawn(io, node.close(), asio::use_awaitable);
    co_await tasks.wait();
}

void add_forward_listen(CLI::App& forward_cmd, std::function<int()>& action) {
    auto* cmd = forward_cmd.add_subcommand("listen", "Accept links and connect each to a local TCP port (--to)");
    struct Args {
        ListenFlags listen;
        std::string to;
    };
    auto args = std::make_shared<Args>();
    args->listen.add_to(*cmd);
    cmd->get_option("--json")->description("Print the listening event (address) as a JSON line");
    cmd->add_option("--to", args->to, "IP:PORT each incoming link is connected to, e.g. 127.0.0.1:8080")->required();
    cmd->callback([&action, args] {
        action = [args] {
            return run(
                [args](asio::io_context& io) -> asio::awaitable<int> {
                    auto to = parse_local(args->to, "--to");
                    Node node(io.get_executor(), args->listen.node.node_options());
                    co_await node.start({progress_printer(args->listen.node.verbose)});
                    net::TaskGroup tasks(io.get_executor());
                    node.on_inbound([&tasks, to](PipePtr pipe) { tasks.spawn(serve_link(pipe, to), "forward link"); });
                    announce_listening(node, args->listen, std::cout);
                    co_await until_stopped(io, tasks, node);
                    co_return 0;
                },
                OnSignal::stop_service);
        };
    });
}

// Links to the peer for one accepted connection and carries it.
asio::awaitable<void> forward_connection(Node& node, NodeAddress peer, ConnectOptions options, tcp::socket socket) {
    asio::error_code ec;
    auto from = socket.remote_endpoint(ec);
    auto what = "connection from " + from.address().to_string() + ":" + std::to_string(from.port());
    ConnectResult link;
    try {
        link = co_await auto_connect(node, peer, options);
    } catch (const std::exception& e) {
        std::cout << what << " failed: " << e.what() << std::endl;
        co_return;
    }
    std::cout << what << " linked (" << link.plugin << ", " << path_of(*link.pipe) << ")" << std::endl;
    co_await carry(link.pipe, std::move(socket), what);
}

asio::awaitable<void> accept_connections(tcp::acceptor& acceptor, net::TaskGroup& tasks, Node& node, NodeAddress peer, ConnectOptions options) {
    for (;;) {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        tasks.spawn(forward_connection(node, peer, options, std::move(socket)), "forwarded connection");
    }
}

void add_forward_connect(CLI::App& forward_cmd, std::function<int()>& action) {
    auto* cmd = forward_cmd.add_subcommand("connect", "Accept local TCP connections (--local) and carry each over its own link to the peer");
    struct Args {
        DialFlags dial;
        std::string local;
    };
    auto args = std::make_shared<Args>();
    args->dial.add_to(*cmd, false);
    cmd->add_option("--local", args->local, "IP:PORT to accept local connections on, e.g. 127.0.0.1:8080")->required();
    cmd->callback([&action, args] {
        action = [args] {
            return run(
                [args](asio::io_context& io) -> asio::awaitable<int> {
                    auto local = parse_local(args->local, "--local");
                    auto dialler = co_await start_dialler(io, args->dial);
                    auto& node = *dialler.node;
                    tcp::acceptor acceptor(io);
                    asio::error_code ec;
                    acceptor.open(local.protocol(), ec);
                    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
                    if (!ec) acceptor.bind(local, ec);
                    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
                    if (ec) throw Exception(Errc::address_in_use, "--local " + args->local + ": " + ec.message());
                    net::TaskGroup tasks(io.get_executor());
                    tasks.spawn(accept_connections(acceptor, tasks, node, dialler.peer, dialler.options), "forward acceptor");
                    std::cout << "forwarding " << args->local << " to " << args->dial.target << std::endl;
                    co_await until_stopped(io, tasks, node);
                    co_return 0;
                },
                OnSignal::stop_service);
        };
    });
}

}  // namespace

void add_forward_command(CLI::App& app, std::function<int()>& action) {
    auto* cmd = app.add_subcommand("forward", "Forward a local TCP port to a peer's (connect --local) and the peer's side (listen --to)");
    cmd->require_subcommand(1);
    add_forward_listen(*cmd, action);
    add_forward_connect(*cmd, action);
}

}  // namespace warpgate::cli
