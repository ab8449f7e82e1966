// Scenario benchmarks on loopback: node start()+close(), connect() to first echoed message,
// and Link throughput (plaintext and sealed) against a raw Asio TCP socket (reported as ratios).
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <filesystem>
#include <warpgate/auto_connect.hpp>
#include <warpgate/node.hpp>


using namespace warpgate;
using Clock = std::chrono::steady_clock;

namespace {

std::filesystem::path bench_dir() {
    auto dir = std::filesystem::temp_directory_path() / "warpgate-bench";
    std::filesystem::create_directories(dir);
    return dir;
}

NodeOptions test_node() {
    NodeOptions o;
    o.conf = NodeConfig::test();
    o.conf.install_path = bench_dir();
    o.ips.push_back(asio::ip::make_address("127.0.0.1"));
    o.port = 0;
    return o;
}

template <class F>
void run(F&& coroutine) {
    asio::io_context io;
    std::exception_ptr error;
    asio::co_spawn(io, coroutine(io), [&](std::exception_ptr e) { error = e; });
    io.run();
    if (error) std::rethrow_exception(error);
}

void BM_NodeStartClose(benchmark::State& state) {
    for (auto _ : state) {
        run([](asio::io_context& io) -> asio::awaitable<void> {
            Node node(io.get_executor(), test_node());
            co_await node.start();
            co_await node.close();
        });
    }
}
BENCHMARK(BM_NodeStartClose)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

// connect() (auto_connect, liveness ping included) to the first echoed message.
void BM_ConnectFirstEcho(benchmark::State& state) {
    auto transport = state.range(0) == 0 ? TCP : UDP;
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
        for (auto _ : state) {
            auto result = co_await auto_connect(*a, b->node_address(), {.transport = transport, .timeout = std::chrono::seconds(5), .plugins = {}});
            co_await result.pipe->send(hello);
            auto echo = co_await result.pipe->recv(std::chrono::seconds(5));
            benchmark::DoNotOptimize(echo);
            result.pipe->close();
        }
        co_await a->close();
        co_await b->close();
    });
}
BENCHMARK(BM_ConnectFirstEcho)->Arg(0)->Arg(1)->ArgName("udp")->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

constexpr std::size_t message_size = 64 * 1024;
constexpr std::size_t total_bytes = 256 * 1024 * 1024;

// Raw Asio: the same bytes in the same message sizes, no framing, no queues.
double raw_asio_seconds() {
    double seconds = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        asio::ip::tcp::socket client(io);
        co_await client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        auto server = co_await acceptor.async_accept(asio::use_awaitable);
        client.set_option(asio::ip::tcp::no_delay(true));
        auto begin = Clock::now();
        auto writer = [&]() -> asio::awaitable<void> {
            Bytes chunk(message_size, 1);
            for (std::size_t sent = 0; sent < total_bytes; sent += message_size)
                co_await asio::async_write(client, asio::buffer(chunk), asio::use_awaitable);
        };
        auto reader = [&]() -> asio::awaitable<void> {
            Bytes chunk(message_size);
            for (std::size_t got = 0; got < total_bytes; got += message_size)
                co_await asio::async_read(server, asio::buffer(chunk), asio::use_awaitable);
        };
        using namespace asio::experimental::awaitable_operators;
        co_await (writer() && reader());
        seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    });
    return seconds;
}

// A link between two nodes on loopback (auto_connect, TCP), plaintext or sealed.
double link_seconds(bool encrypted) {
    double seconds = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto options = test_node();
        options.conf.encrypt_links = encrypted;
        auto a = co_await Node::open(io.get_executor(), options);
        auto b = co_await Node::open(io.get_executor(), options);
        PipePtr accepted;
        b->on_inbound([&](PipePtr pipe) { accepted = pipe; });
        ConnectOptions connect;
        connect.timeout = std::chrono::seconds(5);
        auto result = co_await auto_connect(*a, b->node_address(), connect);
        while (!accepted) co_await asio::post(io, asio::use_awaitable);
        auto client = result.pipe;
        auto begin = Clock::now();
        auto writer = [&]() -> asio::awaitable<void> {
            Bytes chunk(message_size, 1);
            for (std::size_t sent = 0; sent < total_bytes; sent += message_size) co_await client->send(chunk);
        };
        auto reader = [&]() -> asio::awaitable<void> {
            for (std::size_t got = 0; got < total_bytes;) {
                auto message = co_await accepted->recv(std::chrono::seconds(10));
                got += message.size();
            }
        };
        using namespace asio::experimental::awaitable_operators;
        co_await (writer() && reader());
        seconds = std::chrono::duration<double>(Clock::now() - begin).count();
        client->close();
        accepted->close();
        co_await a->close();
        co_await b->close();
    });
    return seconds;
}

// Side by side in one run: raw Asio, a plaintext link, a sealed (ChaCha20-Poly1305) link.
void BM_LinkThroughputVsRawAsio(benchmark::State& state) {
    double raw = 0, plain = 0, sealed = 0;
    for (auto _ : state) {
        raw += raw_asio_seconds();
        plain += link_seconds(false);
        sealed += link_seconds(true);
    }
    auto n = static_cast<double>(state.iterations());
    state.counters["raw_MiBps"] = total_bytes / (raw / n) / (1 << 20);
    state.counters["plain_MiBps"] = total_bytes / (plain / n) / (1 << 20);
    state.counters["sealed_MiBps"] = total_bytes / (sealed / n) / (1 << 20);
    state.counters["plain_over_raw"] = raw / plain;
    state.counters["sealed_over_raw"] = raw / sealed;
}
BENCHMARK(BM_LinkThroughputVsRawAsio)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
