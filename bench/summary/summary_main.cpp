// warpgate_summary: every performance figure of issue 20 in one run, as one table (figure,
// value, baseline, ratio, target), optionally saved as JSON to compare a change with the last.
//   warpgate_summary [--json PATH] [--quick] [--only node|throughput|crypto|scale|relay]
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "summary.hpp"

namespace warpgate::bench {

using namespace asio::experimental::awaitable_operators;

NodeOptions test_node(bool encrypted) {
    NodeOptions o;
    o.conf = NodeConfig::test();
    o.conf.encrypt_links = encrypted;
    o.conf.install_path = std::filesystem::temp_directory_path() / "warpgate-bench";
    std::filesystem::create_directories(o.conf.install_path);
    o.ips.push_back(asio::ip::make_address("127.0.0.1"));
    o.port = 0;
    return o;
}

double median(std::vector<double> samples) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    auto n = samples.size();
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

void run(const std::function<asio::awaitable<void>(asio::io_context&)>& coroutine) {
    asio::io_context io(1);
    std::exception_ptr error;
    asio::co_spawn(io, coroutine(io), [&](std::exception_ptr e) { error = e; });
    io.run();
    if (error) std::rethrow_exception(error);
}

asio::awaitable<LinkPair> open_nodes(asio::io_context& io, NodeOptions a, NodeOptions b) {
    LinkPair link;
    link.a = co_await Node::open(io.get_executor(), std::move(a));
    link.b = co_await Node::open(io.get_executor(), std::move(b));
    co_return link;
}

asio::awaitable<void> link_nodes(asio::io_context& io, LinkPair& link, ConnectOptions options) {
    link.b->on_inbound([&link](PipePtr pipe) { link.server = pipe; });
    auto result = co_await auto_connect(*link.a, link.b->node_address(), std::move(options));
    link.client = result.pipe;
    while (!link.server) co_await asio::post(io, asio::use_awaitable);
}

asio::awaitable<LinkPair> open_link(asio::io_context& io, NodeOptions a, NodeOptions b, ConnectOptions options) {
    auto link = co_await open_nodes(io, std::move(a), std::move(b));
    co_await link_nodes(io, link, std::move(options));
    co_return link;
}

asio::awaitable<void> close_link(LinkPair& link) {
    link.client->close();
    link.server->close();
    co_await link.a->close();
    co_await link.b->close();
}

asio::awaitable<double> udp_delivery_rate(LinkPair& link, std::size_t count) {
    using Clock = std::chrono::steady_clock;
    std::size_t got = 0;
    auto begin = Clock::now();
    auto last = begin;
    auto writer = [&]() -> asio::awaitable<void> {
        Bytes datagram(datagram_size, 1);
        for (std::size_t i = 0; i < count; ++i) co_await link.client->send(datagram);
    };
    auto reader = [&]() -> asio::awaitable<void> {
        try {
            while (got < count) {
                auto message = co_await link.server->recv(udp_quiet);
                ++got;
                last = Clock::now();
            }
        } catch (const Exception&) {  // silence: the rest was lost
        }
    };
    co_await (writer() && reader());
    co_return static_cast<double>(got) / std::chrono::duration<double>(last - begin).count();
}

namespace {

std::optional<double> ratio_of(const Figure& f) {
    if (!f.baseline || *f.baseline == 0) return std::nullopt;
    return f.value / *f.baseline;
}

}  // namespace

void print_table(const std::vector<Figure>& figures) {
    std::printf("%-44s %14s %-10s %14s %-22s %8s  %s\n", "figure", "value", "unit", "baseline", "(baseline is)", "ratio",
                "target");
    for (const auto& f : figures) {
        auto ratio = ratio_of(f);
        std::printf("%-44s %14.3f %-10s ", f.name.c_str(), f.value, f.unit.c_str());
        if (f.baseline)
            std::printf("%14.3f %-22s ", *f.baseline, f.baseline_name.c_str());
        else
            std::printf("%14s %-22s ", "-", "");
        if (ratio && *ratio < 0.01)
            std::printf("%7.1ex  %s\n", *ratio, f.target.c_str());  // 1.56 ms against 6.4 s: 2.4e-04x, not 0.00x
        else if (ratio)
            std::printf("%7.2fx  %s\n", *ratio, f.target.c_str());
        else
            std::printf("%8s  %s\n", "-", f.target.c_str());
    }
}

std::string to_json(const std::vector<Figure>& figures) {
    auto out = nlohmann::json::array();
    for (const auto& f : figures) {
        nlohmann::json row{{"figure", f.name}, {"value", f.value}, {"unit", f.unit}, {"target", f.target}};
        row["baseline"] = f.baseline ? nlohmann::json(*f.baseline) : nlohmann::json(nullptr);
        row["baseline_is"] = f.baseline_name;
        auto ratio = ratio_of(f);
        row["ratio"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
        out.push_back(std::move(row));
    }
    return out.dump(2);
}

}  // namespace warpgate::bench

int main(int argc, char** argv) {
    using namespace warpgate::bench;
    if (argc == 4 && std::strcmp(argv[1], "--dial-links") == 0) {  // the scale figures' second process
        spdlog::set_level(spdlog::level::warn);
        return dial_links_process(argv[2], std::stoul(argv[3]));
    }
    std::string json_path, only;
    Sizes sizes;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--json" && i + 1 < argc) {
            json_path = argv[++i];
        } else if (arg == "--only" && i + 1 < argc) {
            only = argv[++i];
        } else if (arg == "--quick") {
            sizes = {.repetitions = 7, .stream_bytes = 256 << 20, .datagrams = 50000, .idle_links = 1000};
        } else {
            std::fprintf(stderr, "usage: %s [--json PATH] [--quick] [--only node|throughput|crypto|scale|relay]\n", argv[0]);
            return 2;
        }
    }
    spdlog::set_level(spdlog::level::warn);
    std::vector<Figure> figures;
    auto add = [&](const char* group, auto measure) {
        if (!only.empty() && only != group) return;
        auto more = measure(sizes);
        figures.insert(figures.end(), more.begin(), more.end());
    };
    add("crypto", crypto_figures);
    add("node", node_figures);
    add("throughput", throughput_figures);
    add("scale", scale_figures);
    add("relay", relay_figures);
    print_table(figures);
    if (!json_path.empty()) {
        std::ofstream(json_path) << to_json(figures) << "\n";
        std::printf("written to %s\n", json_path.c_str());
    }
    return 0;
}
