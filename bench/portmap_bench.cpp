// Node start()+close() with port mapping forced to each protocol, against a real router: run
// inside the NAT lab's host ha with miniupnpd in its router (tests/lab/lab.sh up --upnp-a):
//
//     WG_BENCH_PORTMAP=1 lab.sh exec ha -- build/bench/warpgate_bench --benchmark_filter=PortMapping
//
// Elsewhere (no router that maps) it reports itself skipped. The time includes mapping TCP and
// UDP at start and deleting both at close.
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <cstdlib>
#include <filesystem>
#include <warpgate/node.hpp>

using namespace warpgate;

namespace {

void start_close(PortMappingProtocol protocol) {
    NodeOptions o;
    o.conf = NodeConfig::test();
    o.conf.install_path = std::filesystem::temp_directory_path() / "warpgate-bench";
    o.conf.enable_upnp = true;
    o.conf.port_mapping_protocol = protocol;
    o.port = 40100;
    asio::io_context io;
    std::exception_ptr error;
    std::size_t mapped = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            Node node(io.get_executor(), o);
            co_await node.start();
            mapped = node.port_mappings().size();
            co_await node.close();
        },
        [&](std::exception_ptr e) { error = e; });
    io.run();
    if (error) std::rethrow_exception(error);
    if (mapped != 2) throw Exception(Errc::unreachable, "the router mapped " + std::to_string(mapped) + " of 2");
}

void BM_NodeStartClosePortMapping(benchmark::State& state) {
    if (!std::getenv("WG_BENCH_PORTMAP")) {
        state.SkipWithError("set WG_BENCH_PORTMAP=1 and run inside the NAT lab (see the file's comment)");
        return;
    }
    auto protocol = static_cast<PortMappingProtocol>(state.range(0));
    state.SetLabel(to_string(protocol));
    for (auto _ : state) start_close(protocol);
}
BENCHMARK(BM_NodeStartClosePortMapping)
    ->Arg(static_cast<int>(PortMappingProtocol::pcp))
    ->Arg(static_cast<int>(PortMappingProtocol::natpmp))
    ->Arg(static_cast<int>(PortMappingProtocol::upnp))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

}  // namespace
