// Two gates in one process: alpha connects to bravo over loopback, bravo echoes.
#include <asio.hpp>
#include <iostream>
#include <warpgate/gate.hpp>

asio::awaitable<void> echo(asio::any_io_executor ex) {
    // Options are set on a named object, never a braced temporary inside co_await (GCC 12).
    warpgate::GateOptions options;
    options.conf = warpgate::NodeConfig::test();  // nothing leaves the machine
    options.ips = {asio::ip::make_address("127.0.0.1")};
    options.port = 0;  // any free port
    auto alpha = co_await warpgate::Gate::open(ex, "alpha", options);
    auto bravo = co_await warpgate::Gate::open(ex, "bravo", options);

    warpgate::LinkOptions link_options;
    link_options.plugins = {"direct_connect"};
    auto link = co_await alpha.connect(bravo.address_text(), link_options);
    auto inbound = co_await bravo.accept();
    co_await link.send("Hello world");
    auto message = co_await inbound.recv();
    co_await inbound.send(message);
    auto reply = co_await link.recv();
    std::cout << warpgate::as_chars(reply) << " (" << link.plugin() << ")\n";
    co_await alpha.close();
    co_await bravo.close();
}

int main() {
    asio::io_context io;
    // Not asio::detached: an error ends io.run() with it instead of vanishing.
    asio::co_spawn(io, echo(io.get_executor()), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    try {
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
