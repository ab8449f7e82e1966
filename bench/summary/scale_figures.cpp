// Many links on one node: the memory each idle link costs (RSS growth over `idle_links`
// encrypted UDP links, both ends in this process, divided by the links) and the rate at
// which links are established, both ends sharing one core (one io_context thread).
#include <sys/resource.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fstream>
#include <warpgate/auto_connect.hpp>

#include "summary.hpp"

namespace warpgate::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t concurrent_connects = 16;  // under the listener's half-open limit per IP (32)

double rss_kib() {
    std::ifstream statm("/proc/self/statm");
    double pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024;
}

// Each UDP link holds one socket on the dialling side: raise the descriptor limit to the hard one.
std::size_t descriptor_budget() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    return static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace

std::vector<Figure> scale_figures(const Sizes& sizes) {
    auto links = std::min(sizes.idle_links, descriptor_budget() > 200 ? descriptor_budget() - 200 : 0);
    double kib_per_link = 0, links_per_second = 0;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), test_node());
        auto b = co_await Node::open(io.get_executor(), test_node());
        std::vector<PipePtr> accepted, dialled;
        accepted.reserve(links);
        dialled.reserve(links);
        b->on_inbound([&](PipePtr pipe) { accepted.push_back(std::move(pipe)); });
        ConnectOptions options{UDP, std::chrono::seconds(10)};
        options.plugins = {"direct_connect"};
        auto warm = co_await auto_connect(*a, b->node_address(), options);  // first-use allocations are not per link
        warm.pipe->close();
        accepted.clear();
        auto rss_before = rss_kib();
        std::size_t next = 0, done = 0;
        std::exception_ptr failure;
        auto begin = Clock::now();
        for (std::size_t w = 0; w < concurrent_connects; ++w) {
            asio::co_spawn(io, [&]() -> asio::awaitable<void> {
                while (next < links) {
                    ++next;
                    auto result = co_await auto_connect(*a, b->node_address(), options);
                    dialled.push_back(result.pipe);
                }
            }, [&](std::exception_ptr e) { if (e && !failure) failure = e; ++done; });
        }
        asio::steady_timer poll(io);
        while (done < concurrent_connects || accepted.size() < dialled.size()) {
            if (failure) break;
            poll.expires_after(std::chrono::milliseconds(2));
            co_await poll.async_wait(asio::use_awaitable);
        }
        auto seconds = std::chrono::duration<double>(Clock::now() - begin).count();
        if (failure) std::rethrow_exception(failure);
        links_per_second = static_cast<double>(links) / seconds;
        kib_per_link = (rss_kib() - rss_before) / static_cast<double>(links);
        for (auto& pipe : dialled) pipe->close();
        for (auto& pipe : accepted) pipe->close();
        co_await a->close();
        co_await b->close();
    });
    return {
        {"idle UDP links: RSS per link (" + std::to_string(links) + " links, both ends)", "KiB", kib_per_link, std::nullopt, "",
         "< 10 KiB"},
        {"links established per second, both ends on one core", "links/s", links_per_second, std::nullopt, "", "-"},
    };
}

}  // namespace warpgate::bench
