// auto_connect: race every traversal strategy to a peer and return the first working pipe.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <warpgate/address.hpp>
#include <warpgate/pipe.hpp>
#include <warpgate/plugin.hpp>

namespace warpgate {

class Node;

struct ConnectOptions {
    ConnectOptions() = default;  // not an aggregate (see GateOptions in gate.hpp)
    ConnectOptions(Transport transport, std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : transport(transport), timeout(timeout) {}  // connect(peer, {UDP, 5s})
    Transport transport = TCP;
    std::chrono::milliseconds timeout{10000};  // overall, across every phase
    std::vector<std::string> plugins;          // only these (by name); empty: all registered
    // The race (docs/race.md): each later phase starts this long after the previous one, or
    // at once when the NAT facts rule the earlier phases out or all their attempts failed.
    std::chrono::milliseconds stagger{200};
    std::size_t max_half_open = 32;  // attempts started together (half-open SYN limits)
    std::size_t max_flows = 256;     // attempts in all (router flow caps)
    // The relay budget: a relayed link is taken only when nothing direct linked within this
    // long (or at once when nothing else is left trying, e.g. the NAT facts rule every direct
    // attempt out). The relay allocates earlier (by half of it) so that it is ready then.
    std::chrono::milliseconds relay_after{1000};
    // A link that won on a relay: the other plugins keep trying for this long in the
    // background, and the link moves to the first direct path they reach.
    bool leave_relay = true;
    std::chrono::milliseconds upgrade_timeout{30000};
};

// How one attempt ended: the pipe's winner, or why it failed or was never started.
struct AttemptReport {
    std::string attempt;  // Attempt::describe()
    bool won = false;
    std::string outcome;
    std::chrono::microseconds duration{0};
    std::chrono::milliseconds planned_delay{0};        // when the plan wanted it started
    std::optional<std::chrono::microseconds> started;  // when it did (earlier once all before it failed)
    std::string skip_reason;                           // why the plan did not start it; empty when it ran
};

struct PhaseRun {
    Phase phase;
    std::chrono::microseconds duration{0};  // from its first start to its last end
    std::vector<AttemptReport> attempts;
};

// What became of each plugin in the race.
enum class PluginVerdict : std::uint8_t {
    won,       // made the winning pipe
    lost,      // still trying (or not yet started) when another won or time ran out
    failed,    // every attempt it started failed
    declined,  // it proposed attempts, the NAT facts ruled every one out
    skipped,   // it proposed nothing for this peer
};
const char* to_string(PluginVerdict v) noexcept;

struct PluginReport {
    std::string plugin;
    Phase phase = Phase::direct;
    PluginVerdict verdict = PluginVerdict::skipped;
    std::string reason;  // "signaling is off", "peer is behind a symmetric NAT: ...", the failures
};

struct ConnectResult {
    PipePtr pipe;                 // started, live (answered a ping)
    std::string plugin;           // the winner's name
    Attempt attempt;              // the winning attempt
    std::vector<PhaseRun> phases;  // everything that was planned, by phase
    std::vector<PluginReport> plugins;  // every plugin considered, in registry order
};

// auto_connect's failure: the message lists every plugin's verdict and every attempt's reason;
// the structured reports travel along (warpgate connect --json prints them).
class ConnectFailure : public Exception {
public:
    ConnectFailure(Errc code, std::string message, std::vector<PhaseRun> phases, std::vector<PluginReport> plugins)
        : Exception(code, std::move(message)), phases(std::move(phases)), plugins(std::move(plugins)) {}
    std::vector<PhaseRun> phases;
    std::vector<PluginReport> plugins;
};

// Throws ConnectFailure: Errc::unreachable (with every plugin's and attempt's reason),
// Errc::timeout; Exception: Errc::cancelled, Errc::config (an unknown plugin, a node not
// started), Errc::malformed (a bad destination). Losing pipes are closed and their tasks finished
// before it returns.
asio::awaitable<ConnectResult> auto_connect(Node& node, const NodeAddress& peer, ConnectOptions options = {});
// destination: address text ("wg1...") or binary address bytes.
asio::awaitable<ConnectResult> auto_connect(Node& node, std::string_view destination, ConnectOptions options = {});
asio::awaitable<ConnectResult> auto_connect(Node& node, ByteView destination, ConnectOptions options = {});

}  // namespace warpgate
