// tcp_punch: TCP hole punching by synchronised simultaneous open (docs/tcp-punch.md).
//
//   initiator                                  responder
//   predicts its next external ports  --offer-->  predicts its own (a fresh mapping when its
//   (a fresh mapping when its NAT             NAT allocates per flow), or declines
//   allocates per flow)              <--answer--
//   measures the round trip, picks the
//   start instant (punch_schedule)    --go----->
//   at the instant both bind their TCP listen ip:port (address and port reuse) and connect to
//   every candidate of the other, in the order given, `pace` apart: through two sequential
//   NATs the k-th connects of the two sides leave from the k-th ports and pair up. The
//   responder fires `lag` plus both clocks' uncertainty after the initiator, so the
//   initiator's SYN goes first: the responder's NAT drops it (the lab's routers, like
//   consumer ones, drop unsolicited inbound without a RST), or with nothing in front of the
//   responder its listener accepts it; the responder's SYN then passes the mapping the
//   initiator's made and meets a socket in SYN_SENT: a simultaneous open. Should the
//   responder's SYN reach the initiator's listener instead (its connect did not exist yet,
//   or an old connection's TIME_WAIT held the 4-tuple), the initiator claims that
//   connection (ctx.claim_inbound) and introduces on it.
//   An initiator's connect unanswered (still in SYN_SENT: a socket that met the peer's SYN
//   goes on, closing it would hold the 4-tuple in FIN_WAIT) after two signaling round trips (`resend_min` to `resend_max`) is
//   re-fired on a new socket with the same 4-tuple (the kernel would retransmit only after
//   1 s, and a socket that reused a TIME_WAIT may have discarded the peer's SYN over its
//   timestamps): by then no SYN-ACK for the old one can be in flight (which its replacement
//   would answer with a RST), and the NAT keeps the flow's mapping (the old socket leaves
//   without a RST). A connect that failed (RST, ICMP) is re-fired after `refire`. All until
//   the window ends.
//   The initiator keeps the first connection and the node introduces on it; the responder
//   hands every connection that completes to the node's acceptor (ctx.accept_path), which
//   serves the one the initiator introduces on; the rest close.
//
// Declined up front, with the reason, when signaling is off, for UDP, or when either side's
// NAT cannot be predicted (random symmetric; per-destination mapping with unmeasured ports).
#pragma once
#include <warpgate/plugin.hpp>

#include "net/rate_limit.hpp"
#include "traversal/punch_schedule.hpp"

namespace warpgate::traversal {

struct TcpPunchOptions {
    ScheduleBudget budget;
    std::size_t max_candidates = 4;           // predicted ports per side
    std::chrono::milliseconds pace{5};        // between the connects of one side
    std::chrono::milliseconds refire{20};     // before re-firing a connect that failed
    std::chrono::milliseconds resend_min{50}; // bounds of the re-fire of an unanswered connect
    std::chrono::milliseconds resend_max{500};
    std::chrono::milliseconds grace{250};     // responder: how long it accepts after the first
    std::chrono::milliseconds lag{5};         // responder: fires this + both clocks' uncertainty late
    // The responder's defences: a signed peer makes it send SYNs to addresses of its choosing
    // (those the dial policy allows), so offers are rate limited per key and in all, and
    // only so many punches are answered at once; the rest are declined with why.
    net::RateLimit offers_per_key{8, std::chrono::seconds(10)};
    net::RateLimit offers_total{40, std::chrono::seconds(10)};
    std::size_t max_responding = 4;
};

class TcpPunch final : public Plugin {
public:
    explicit TcpPunch(TcpPunchOptions options = {});
    std::string_view name() const override { return "tcp_punch"; }
    Phase phase() const override { return Phase::punch; }
    std::uint8_t signal_tag() const override { return 3; }  // SignalType::tcp_punch
    // One attempt per address family both nodes have, aimed at the peer's external address.
    std::vector<Attempt> plan(PluginContext& ctx, const NodeAddress& peer, Transport transport, std::string& why_not) override;
    asio::awaitable<Reached> attempt(PluginContext& ctx, const NodeAddress& peer, Attempt attempt) override;
    // The responder's side: answers offers and punches back.
    void serve(PluginContext& ctx) override;

private:
    TcpPunchOptions options_;
    std::shared_ptr<class PunchTable> table_;
};

}  // namespace warpgate::traversal
