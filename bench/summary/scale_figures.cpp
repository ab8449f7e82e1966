// Many links on one node. The memory each idle link costs the node holding them: the peers'
// ends live in a second process (this binary, run with --dial-links), so the RSS growth of
// this process over `idle_links` accepted encrypted UDP links, divided by the links, is the
// measured node's alone; the CPU this process spends meanwhile, per link, is the responder's
// cost of accepting one. The same links with both ends in this process give the combined
// figure and the rate at which links are established with both ends sharing one core (one
// io_context thread).
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <array>
#include <cstdio>
#include <fstream>
#include <malloc.h>
#include <warpgate/auto_connect.hpp>

#include "summary.hpp"

namespace warpgate::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t concurrent_connects = 16;  // under the listener's half-open limit per IP (32)

// What this process holds now, after giving freed heap pages back (malloc_trim), so that memory
// an earlier figure freed is not reused unseen by the next.
double rss_kib() {
    malloc_trim(0);
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

ConnectOptions direct_udp() {
    ConnectOptions options{UDP, std::chrono::seconds(10)};
    options.plugins = {"direct_connect"};
    return options;
}

// Sleeps until `done` holds (or a failure, rethrown), looking every 2 ms.
asio::awaitable<void> wait_until(asio::io_context& io, const std::function<bool()>& done, const std::exception_ptr& failure) {
    asio::steady_timer poll(io);
    while (!done()) {
        if (failure) std::rethrow_exception(failure);
        poll.expires_after(std::chrono::milliseconds(2));
        co_await poll.async_wait(asio::use_awaitable);
    }
}

// `links` links from `from` to `to` (direct_connect, UDP), concurrent_connects at a time.
asio::awaitable<std::vector<PipePtr>> dial(asio::io_context& io, Node& from, NodeAddress to, std::size_t links) {
    std::vector<PipePtr> dialled;
    dialled.reserve(links);
    std::size_t next = 0, done = 0;
    std::exception_ptr failure;
    for (std::size_t w = 0; w < concurrent_connects; ++w) {
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            while (next < links) {
                ++next;
                auto result = co_await auto_connect(from, to, direct_udp());
                dialled.push_back(result.pipe);
            }
        }, [&](std::exception_ptr e) { if (e && !failure) failure = e; ++done; });
    }
    co_await wait_until(io, [&] { return done == concurrent_connects; }, failure);
    if (failure) std::rethrow_exception(failure);
    co_return dialled;
}

struct BothEnds {
    double kib_per_link = 0;
    double links_per_second = 0;  // wall clock: on a loaded machine, the share of a core it got
    double cpu_us_per_link = 0;   // this process's CPU (both ends) per link
};

// Both ends here, on one io_context thread.
BothEnds both_ends(std::size_t links) {
    BothEnds out;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), test_node());
        auto b = co_await Node::open(io.get_executor(), test_node());
        std::vector<PipePtr> accepted;
        accepted.reserve(links);
        b->on_inbound([&](PipePtr pipe) { accepted.push_back(std::move(pipe)); });
        auto warm = co_await auto_connect(*a, b->node_address(), direct_udp());  // first-use allocations are not per link
        warm.pipe->close();
        accepted.clear();
        auto rss_before = rss_kib();
        auto begin = Clock::now();
        auto cpu_before = cpu_seconds();
        auto dialled = co_await dial(io, *a, b->node_address(), links);
        co_await wait_until(io, [&] { return accepted.size() >= dialled.size(); }, nullptr);
        out.links_per_second = static_cast<double>(links) / std::chrono::duration<double>(Clock::now() - begin).count();
        out.cpu_us_per_link = (cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(links);
        out.kib_per_link = (rss_kib() - rss_before) / static_cast<double>(links);
        for (auto& pipe : dialled) pipe->close();
        for (auto& pipe : accepted) pipe->close();
        co_await a->close();
        co_await b->close();
    });
    return out;
}

// The second process: this binary with --dial-links ADDRESS COUNT, its ends' stdin and stdout
// piped to this one.
struct Dialler {
    pid_t pid = -1;
    int to_child = -1;    // its stdin: closing it ends the child
    int from_child = -1;  // its stdout: "linked N" once its links are up

    Dialler(const std::string& address, std::size_t links) {
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe() failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&actions, fd);
        std::string self = "/proc/self/exe", count = std::to_string(links);
        std::vector<char*> argv{self.data(), const_cast<char*>("--dial-links"), const_cast<char*>(address.c_str()), count.data(), nullptr};
        int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(in[0]);
        close(out[1]);
        to_child = in[1];
        from_child = out[0];
        if (spawned != 0) throw std::runtime_error("cannot run the dialling process");
    }
    ~Dialler() {
        if (to_child >= 0) close(to_child);
        if (pid > 0) waitpid(pid, nullptr, 0);
    }
};

// The idle links' nodes send keepalives every 2 s instead of 25, so that the bench can watch
// one whole keepalive interval: each link's liveness timer wakes when something is due
// (session.cpp), which an idle link's is once per interval, to send its keepalive.
constexpr auto idle_keepalive = std::chrono::milliseconds(2000);
constexpr auto idle_look = idle_keepalive + std::chrono::milliseconds(300);

NodeOptions idle_node() {
    auto o = test_node();
    o.conf.keepalive_interval = idle_keepalive;
    return o;
}

struct Measured {
    double kib_per_link = 0;
    double responder_cpu_us = 0;  // this process's CPU per accepted link
    double idle_cpu_us = 0;       // this process's CPU per link over idle_look, the links idle
};

// The node under test here, accepting; the peers' ends in the second process.
Measured one_node(std::size_t links) {
    Measured out;
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto b = co_await Node::open(io.get_executor(), idle_node());
        std::vector<PipePtr> accepted;
        accepted.reserve(links);
        b->on_inbound([&](PipePtr pipe) { accepted.push_back(std::move(pipe)); });
        {
            auto a = co_await Node::open(io.get_executor(), test_node());
            auto warm = co_await auto_connect(*a, b->node_address(), direct_udp());  // first-use allocations
            warm.pipe->close();
            co_await a->close();
        }
        co_await wait_until(io, [&] { return !accepted.empty(); }, nullptr);
        accepted.front()->close();
        accepted.clear();
        auto rss_before = rss_kib();
        auto cpu_before = cpu_seconds();
        Dialler child(b->address_text(), links);
        asio::posix::stream_descriptor from_child(io, dup(child.from_child));
        std::string said;
        co_await asio::async_read_until(from_child, asio::dynamic_buffer(said), '\n', asio::use_awaitable);
        if (!said.starts_with("linked")) throw std::runtime_error("the dialling process: " + said);
        co_await wait_until(io, [&] { return accepted.size() >= links; }, nullptr);
        out.responder_cpu_us = (cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(links);
        out.kib_per_link = (rss_kib() - rss_before) / static_cast<double>(links);
        auto idle_before = cpu_seconds();
        asio::steady_timer idle(io, idle_look);
        co_await idle.async_wait(asio::use_awaitable);
        out.idle_cpu_us = (cpu_seconds() - idle_before) * 1e6 / static_cast<double>(links);
        for (auto& pipe : accepted) pipe->close();
        co_await b->close();
    });
    return out;
}

}  // namespace

int dial_links_process(const std::string& address, std::size_t links) {
    descriptor_budget();
    run([&](asio::io_context& io) -> asio::awaitable<void> {
        auto a = co_await Node::open(io.get_executor(), idle_node());
        auto peer = parse_address_text(address);
        if (!peer) throw Exception(peer.error());
        auto dialled = co_await dial(io, *a, *peer, links);
        std::printf("linked %zu\n", dialled.size());
        std::fflush(stdout);
        // The links stay up (answering keepalives) until the measuring process closes stdin.
        asio::posix::stream_descriptor parent(io, dup(0));
        std::array<char, 64> sink{};
        asio::error_code ec;
        while (!ec) co_await parent.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
        for (auto& pipe : dialled) pipe->close();
        co_await a->close();
    });
    return 0;
}

std::vector<Figure> scale_figures(const Sizes& sizes) {
    auto links = std::min(sizes.idle_links, descriptor_budget() > 200 ? descriptor_budget() - 200 : 0);
    auto measured = one_node(links);
    auto pair = both_ends(links);
    auto n = std::to_string(links);
    return {
        {"idle UDP links: RSS per link on the node holding " + n, "KiB", measured.kib_per_link, std::nullopt, "", "< 10 KiB"},
        {"idle UDP links: RSS per link, both ends in one process (" + n + ")", "KiB", pair.kib_per_link, std::nullopt, "", "-"},
        {"idle links: CPU per link per keepalive interval (2 s here)", "us", measured.idle_cpu_us, std::nullopt, "", "-"},
        {"responder CPU per accepted link (UDP, sealed)", "us", measured.responder_cpu_us, std::nullopt, "", "-"},
        {"accepted links per second of one core", "links/s", 1e6 / measured.responder_cpu_us, std::nullopt, "", "-"},
        {"CPU per link established, both ends in one process", "us", pair.cpu_us_per_link, std::nullopt, "", "-"},
        {"links established per CPU second, both ends on one core", "links/s", 1e6 / pair.cpu_us_per_link, std::nullopt, "", "-"},
        {"links established per second (wall), both ends on one core", "links/s", pair.links_per_second, std::nullopt, "",
         "- (the core's share under load)"},
    };
}

}  // namespace warpgate::bench
