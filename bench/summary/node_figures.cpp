// Node start()+close() with the test preset, and connect() (auto_connect, the default plugins
// racing, encrypted) to the first echoed message, on loopback.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <warpgate/auto_connect.hpp>

#include "summary.hpp"

namespace warpgate::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point begin) { return std::chrono::duration<double, std::milli>(Clock::now() - begin).count(); }

double start_close_ms(int repetitions) {
    std::vector<double> samples;
    for (int i = 0; i < repetitions; ++i) {
        run([&](asio::io_context& io) -> asio::awaitable<void> {
            auto begin = Clock::now();
            Node node(io.get_executor(), test_node());
            co_await node.start();
            co_await node.close();
            samples.push_back(ms_since(begin));
        });
    }
    return median(samples);
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
    return {
        {"node start()+close(), test preset", "ms", start_close_ms(sizes.repetitions), std::nullopt, "", "< 2 ms"},
        {"connect() to first echo, TCP, encrypted", "ms", connect_first_echo_ms(TCP, sizes.repetitions), std::nullopt, "",
         "< 1 ms (median)"},
        {"connect() to first echo, UDP, encrypted", "ms", connect_first_echo_ms(UDP, sizes.repetitions), std::nullopt, "",
         "< 1 ms (median)"},
    };
}

}  // namespace warpgate::bench
