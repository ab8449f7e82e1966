// reverse_connect: when the peer cannot be dialed (behind NAT) but we can (public address or a
// forwarded port), ask it over signaling to dial us. The pipe it opens arrives at our servers
// with the attempt's connection id and is handed to the waiting attempt (NodeImpl::expected).
//
// connect_back payload (signal type SignalType::connect_back, inside the sealed, signed
// signal envelope; docs/signaling.md):
//   version(1) = 1 | connection id(16) | transport(1: 1 TCP, 2 UDP) | caller's node address
#pragma once
#include <warpgate/plugin.hpp>

#include "net/rate_limit.hpp"
#include "net/refusals.hpp"

namespace warpgate::traversal {

class ReverseConnect final : public Plugin {
public:
    std::string_view name() const override { return "reverse_connect"; }
    Phase phase() const override { return Phase::direct; }
    std::uint8_t signal_tag() const override { return 2; }  // SignalType::connect_back
    // One attempt per address family both nodes have, when the peer names MQTT brokers and our
    // signaling is up.
    std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) override;
    asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) override;
    // The callee's side: answers connect_back requests by dialling the caller's own address
    // (only where the dial policy allows, within ConnectBackGuard's limits) with the caller's
    // connection id.
    void serve(PluginContext& ctx) override;
    // The callee side's defences and counters (null until serve()).
    const std::shared_ptr<class ConnectBackGuard>& guard() const { return guard_; }

private:
    std::shared_ptr<ConnectBackGuard> guard_;
};

struct ConnectBackCounters {
    std::uint64_t requests = 0;        // authenticated connect_back messages that arrived
    std::uint64_t admitted = 0;        // within the rate limits and the concurrency cap
    std::uint64_t targets_dialed = 0;  // addresses dialed (those the dial policy allowed)
    std::uint64_t connected = 0;       // dial-backs that produced a link
};

// connect_back's defences, one per node: the rate limits per requesting key and for all keys
// together, a cap on dial-backs in progress, and the counters (refusals by reason, in the
// RefusalLog "reverse_connect") that `listen --json` shows.
class ConnectBackGuard : public std::enable_shared_from_this<ConnectBackGuard> {
public:
    explicit ConnectBackGuard(const NodeConfig& conf);

    // Held by a dial-back while it runs; frees its place under the concurrency cap.
    class Slot {
    public:
        explicit Slot(std::shared_ptr<ConnectBackGuard> guard) : guard_(std::move(guard)) { ++guard_->in_progress_; }
        ~Slot() {
            if (guard_) --guard_->in_progress_;
        }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

    private:
        std::shared_ptr<ConnectBackGuard> guard_;
    };

    // A request from `requester` (its public key): a slot when it may be dialed now; nullptr
    // (the refusal counted and logged) when a limit says no.
    std::unique_ptr<Slot> admit(const Bytes& requester);
    // Counts and logs a refused request or target (reason: a stable counter name).
    void refuse(std::string_view reason, std::string_view detail) { refusals_.refuse(reason, detail); }

    ConnectBackCounters& counters() { return counters_; }
    const ConnectBackCounters& counters() const { return counters_; }
    const net::RefusalLog& refusals() const { return refusals_; }
    std::size_t in_progress() const { return in_progress_; }

private:
    net::KeyedRateLimit<Bytes> limits_;
    std::size_t max_concurrent_;
    std::size_t in_progress_ = 0;
    ConnectBackCounters counters_;
    net::RefusalLog refusals_{"reverse_connect"};
};

struct ConnectBack {
    static constexpr std::uint8_t version = 1;
    ConnectionId con_id{};
    Transport transport = TCP;
    Bytes caller_address;  // NodeAddress binary form
};
Bytes encode_connect_back(const ConnectBack& request);
Result<ConnectBack> decode_connect_back(ByteView payload);

}  // namespace warpgate::traversal
