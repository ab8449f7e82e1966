// auto_connect: race every traversal strategy to a peer and return the first working pipe.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>
#include <warpgate/address.hpp>
#include <warpgate/pipe.hpp>
#include <warpgate/plugin.hpp>

namespace warpgate {

class Node;

struct ConnectOptions {
    Transport transport = TCP;
    std::chrono::milliseconds timeout{10000};  // overall, across every phase
    std::vector<std::string> plugins;          // only these (by name); empty: all registered
};

// How one attempt ended: the pipe's winner, or why it failed.
struct AttemptReport {
    std::string attempt;  // Attempt::describe()
    bool won = false;
    std::string outcome;
    std::chrono::microseconds duration{0};
};

struct PhaseRun {
    Phase phase;
    std::chrono::microseconds duration{0};
    std::vector<AttemptReport> attempts;
};

struct ConnectResult {
    PipePtr pipe;                 // started, live (answered a ping)
    std::string plugin;           // the winner's name
    Attempt attempt;              // the winning attempt
    std::vector<PhaseRun> phases;  // everything that was tried, in order
};

// Throws Exception: Errc::unreachable (with every attempt's reason), Errc::timeout, Errc::cancelled,
// Errc::malformed (a bad destination). Losing pipes are closed and their tasks finished
// before it returns.
asio::awaitable<ConnectResult> auto_connect(Node& node, const NodeAddress& peer, ConnectOptions options = {});
// destination: address text ("wg1...") or binary address bytes.
asio::awaitable<ConnectResult> auto_connect(Node& node, std::string_view destination, ConnectOptions options = {});
asio::awaitable<ConnectResult> auto_connect(Node& node, ByteView destination, ConnectOptions options = {});

}  // namespace warpgate
