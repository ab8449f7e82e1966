// Node start()+close() with the test preset and with the production preset pointed at real
// servers on loopback (coturn as STUN, mosquitto, chronyd as NTP: every phase does its network
// work), and connect() (auto_connect, the default plugins racing, encrypted) to the first
// echoed message, on loopback.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <cstdlib>
#include <map>
#include <warpgate/auto_connect.hpp>

#include "summary.hpp"
#include "support/chrony.hpp"
#include "support/mosquitto.hpp"
#include "support/stun_servers.hpp"

namespace warpgate::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point begin) { return std::chrono::duration<double, std::milli>(Clock::now() - begin).count(); }

// The production preset's servers, on loopback: one coturn answering STUN on two addresses
// (RFC 5780's address change), one broker, three NTP servers as the preset lists three.
struct LocalServers {
    test::Coturn stun{{"127.0.0.1", "127.0.0.2"}};
    test::Mosquitto broker;
    test::Chrony ntp[3];
};

// The production preset with its server lists replaced by `servers`. Port mapping asks the
// default gateway, which on this machine is not ours to ask: it stays off unless
// WG_BENCH_UPNP=1 (for a run inside a network namespace, where the gateway is the lab's or
// there is none; docs/performance.md).
NodeOptions production_node(const LocalServers& servers) {
    auto o = test_node();
    o.conf = NodeConfig::production();
    o.conf.install_path = test_node().conf.install_path;
    o.conf.stun_servers = {servers.stun.host_port(0), servers.stun.host_port(1)};
    o.conf.mqtt_servers = {servers.broker.host_port()};
    o.conf.ntp_servers.clear();
    for (auto& ntp : servers.ntp) o.conf.ntp_servers.push_back(ntp.host_port());
    const char* upnp = std::getenv("WG_BENCH_UPNP");
    o.conf.enable_upnp = upnp && std::string_view(upnp) == "1";
    return o;
}

struct StartClose {
    double total_ms = 0;                       // start() + close(), median
    std::map<std::string, double> phase_ms;   // each start phase, median
};

StartClose start_close_ms(const std::function<NodeOptions()>& options, int repetitions) {
    std::vector<double> samples;
    std::map<std::string, std::vector<double>> phases;
    for (int i = 0; i < repetitions; ++i) {
        run([&](asio::io_context& io) -> asio::awaitable<void> {
            auto begin = Clock::now();
            Node node(io.get_executor(), options());
            co_await node.start();
            co_await node.close();
            samples.push_back(ms_since(begin));
            for (auto& phase : node.phases()) {
                phases[phase.name].push_back(static_cast<double>(phase.duration.count()) / 1000);
                if (std::getenv("WG_BENCH_PHASES")) std::fprintf(stderr, "%s: %s\n", phase.name.c_str(), phase.outcome.c_str());
            }
        });
    }
    StartClose out{median(samples), {}};
    for (auto& [name, durations] : phases) out.phase_ms[name] = median(durations);
    return out;
}

double connect_first_echo_ms(Transport transport, int repetitions) {
    std::vector<double> samples;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), test_node());
        auto b = co_await Node::open(io.get_executor(), test_node());
        b->on_inbound([&io](PipePtr pipe) {
            asio::co_spawn(io, [pipe]() -> asio::awaitable<void> {
                auto m = co_await pipe->recv(std::chrono::seconds(5));
                co_await pipe->send(m);
            }, asio::detached);
        });
        Bytes hello(32, 'x');
        for (int i = 0; i <= repetitions; ++i) {  // the first run warms caches and is not counted
            auto begin = Clock::now();
            auto result = co_await auto_connect(*a, b->node_address(), {transport, std::chrono::seconds(5)});
            co_await result.pipe->send(hello);
            auto echo = co_await result.pipe->recv(std::chrono::seconds(5));
            if (echo != hello) throw std::runtime_error("the echo differs");
            if (i > 0) samples.push_back(ms_since(begin));
            result.pipe->close();
        }
        co_await a->close();
        co_await b->close();
    });
    return median(samples);
}

}  // namespace

std::vector<Figure> node_figures(const Sizes& sizes) {
    auto test = start_close_ms([] { return test_node(); }, sizes.repetitions);
    LocalServers servers;
    auto production = start_close_ms([&] { return production_node(servers); }, sizes.repetitions);
    std::vector<Figure> figures{
        {"node start()+close(), test preset", "ms", test.total_ms, std::nullopt, "", "< 2 ms"},
        {std::string("node start()+close(), production, local servers") + (production_node(servers).conf.enable_upnp ? "" : " (UPnP off)"),
         "ms", production.total_ms, 6400, "the original", "< 300 ms"},
    };
    // The phases that wait on the network (docs/node.md), run concurrently: the slowest decides.
    for (const char* phase : {"initialize_system_clock", "load_p2p_stun_clients", "setup_router_and_signal", "start_background_port_forwarding"})
        figures.push_back({std::string("  production start phase ") + phase, "ms", production.phase_ms[phase], std::nullopt, "", "-"});
    auto connects = std::vector<Figure>{
        {"connect() to first echo, TCP, encrypted", "ms", connect_first_echo_ms(TCP, sizes.repetitions), std::nullopt, "",
         "< 1 ms (median)"},
        {"connect() to first echo, UDP, encrypted", "ms", connect_first_echo_ms(UDP, sizes.repetitions), std::nullopt, "",
         "< 1 ms (median)"},
    };
    figures.insert(figures.end(), connects.begin(), connects.end());
    return figures;
}

}  // namespace warpgate::bench
