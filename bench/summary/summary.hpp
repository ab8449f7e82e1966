// The figures issue 20 asks bench/ for, each measured side by side with its baseline in the
// same run, and the table they are printed and saved as (warpgate_summary --json PATH).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <warpgate/auto_connect.hpp>
#include <warpgate/node.hpp>

namespace warpgate::bench {

struct Figure {
    std::string name;
    std::string unit;
    double value = 0;
    std::optional<double> baseline;  // what the value is compared with, in the same unit
    std::string baseline_name;
    std::string target;              // "< 1 ms", ">= 0.9x" (a ratio target reads value / baseline)
};

struct Sizes {
    int repetitions = 21;  // timed runs of each latency figure (median reported)
    // Per throughput run, in 64 KiB messages: long enough that a fresh link's ramp-up (socket
    // buffers growing, first allocations) does not decide the figure.
    std::size_t stream_bytes = std::size_t(1) << 30;
    std::size_t datagrams = 200000;  // per UDP throughput run, 1,200 bytes each
    std::size_t idle_links = 10000;
};

// --- helpers shared by the figure files ---
NodeOptions test_node(bool encrypted = true);
double median(std::vector<double> samples);
double cpu_seconds();  // this process's CPU time so far (both ends of a figure, when both are here)
// Runs one coroutine on a fresh single-threaded io_context (one core) to completion.
void run(const std::function<asio::awaitable<void>(asio::io_context&)>& coroutine);

constexpr std::size_t datagram_size = 1200;                  // the UDP figures' datagrams
constexpr std::chrono::milliseconds udp_quiet{300};          // a UDP reader stops after this much silence

// Two nodes and a link between them by auto_connect (client: a's end, server: b's).
struct LinkPair {
    std::unique_ptr<Node> a, b;
    PipePtr client, server;
};
asio::awaitable<LinkPair> open_link(asio::io_context& io, NodeOptions a, NodeOptions b, ConnectOptions options);
// The same in two steps: the started nodes, then the link (to time the link alone).
asio::awaitable<LinkPair> open_nodes(asio::io_context& io, NodeOptions a, NodeOptions b);
asio::awaitable<void> link_nodes(asio::io_context& io, LinkPair& link, ConnectOptions options);
asio::awaitable<void> close_link(LinkPair& link);
// datagram_size datagrams from client to server as fast as it sends them: received per second
// (the receiver stops after udp_quiet of silence: the rest was lost).
asio::awaitable<double> udp_delivery_rate(LinkPair& link, std::size_t count);

// --- figures, by file ---
std::vector<Figure> node_figures(const Sizes& sizes);        // node_figures.cpp
std::vector<Figure> throughput_figures(const Sizes& sizes);  // throughput_figures.cpp
std::vector<Figure> crypto_figures(const Sizes& sizes);      // crypto_figures.cpp
std::vector<Figure> scale_figures(const Sizes& sizes);       // scale_figures.cpp
// The idle-links figure's peers, run as a second process (--dial-links ADDRESS COUNT): dials
// COUNT links to the node at ADDRESS (text form), says "linked N" on stdout, holds them until
// stdin closes.
int dial_links_process(const std::string& address, std::size_t links);
std::vector<Figure> relay_figures(const Sizes& sizes);       // relay_figures.cpp

// --- output (summary_main.cpp) ---
void print_table(const std::vector<Figure>& figures);
std::string to_json(const std::vector<Figure>& figures);

}  // namespace warpgate::bench
