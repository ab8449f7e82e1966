// udp_punch: a direct UDP path through both NATs (docs/udp-punch.md). The offerer (the side
// that connects) and the answerer agree over signaling on a token, a key and an instant
// (udp_punch_message.hpp); at the instant both probe each other's candidates with
// authenticated punch records (punch_probe.hpp), paced, for a window sized from the
// signaling round trip. The first probe/confirm round trip locks one 4-tuple; the side that
// holds the path's socket introduces the link on it (the offerer from its listen socket in a
// plain punch, the hard side's winning socket in birthday probing: birthday.hpp), and the
// other side's listen socket accepts the hello like any other.
#pragma once
#include <map>
#include <warpgate/plugin.hpp>

namespace warpgate::traversal {

struct UdpPunchCounters {
    std::uint64_t offers = 0;          // punches this node offered
    std::uint64_t answered = 0;        // offers it answered
    std::uint64_t declined = 0;        // offers it declined (malformed, foreign, busy, no NAT facts)
    std::uint64_t probes_sent = 0;     // punch records sent (probes and confirmations), all punches
    std::uint64_t sockets_opened = 0;  // birthday sockets (all closed when their punch ends)
    std::uint64_t locked = 0;          // punches that locked a 4-tuple on this side
};

class UdpPunch final : public Plugin {
public:
    static constexpr std::size_t max_answering = 4;  // answerer punches in progress at once

    UdpPunch();
    std::string_view name() const override { return "udp_punch"; }
    Phase phase() const override { return Phase::spray; }
    std::uint8_t signal_tag() const override { return 4; }  // SignalType::udp_punch
    // UDP only: one attempt per family both nodes listen on, unless the NAT pair is declined
    // (udp_punch_plan.hpp: random symmetric against anything port-dependent).
    std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) override;
    asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) override;
    // The answerer's side: takes offers from signaling.
    void serve(PluginContext& ctx) override;

    const UdpPunchCounters& counters() const;

    struct Board;  // the punches in progress, by token (udp_punch.cpp)

private:
    std::shared_ptr<Board> board_;
};

}  // namespace warpgate::traversal
