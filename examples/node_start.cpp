// A node: start it, print the address a peer dials, close it.
#include <asio.hpp>
#include <iostream>
#include <warpgate/node.hpp>
#include <warpgate/version.hpp>

asio::awaitable<void> start(asio::any_io_executor ex) {
    warpgate::NodeOptions options;
    options.conf = warpgate::NodeConfig::test();  // nothing leaves the machine
    options.ips = {asio::ip::make_address("127.0.0.1")};
    options.port = 0;  // any free port
    auto node = co_await warpgate::Node::open(ex, options);
    std::cout << "warpgate " << warpgate::version() << " node " << node->node_id() << "\n"
              << node->address_text() << "\n";
    co_await node->close();
}

int main() {
    asio::io_context io;
    // A future holds the coroutine's result or exception once io.run() returns.
    auto started = asio::co_spawn(io, start(io.get_executor()), asio::use_future);
    io.run();
    try {
        started.get();
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
