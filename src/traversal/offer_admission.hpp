// Whether a callee answers a signed peer's offer now (tcp_punch, turn): an offer makes it
// spend something on the peer's behalf (SYNs to addresses of the peer's choosing, a relay
// allocation), so offers are rate limited per key and in all, and only so many are served at
// once. A refused offer is declined with the reason.
#pragma once
#include <fmt/format.h>
#include <string>
#include <string_view>
#include <warpgate/bytes.hpp>

#include "net/rate_limit.hpp"

namespace warpgate::traversal {

class OfferAdmission {
public:
    // `what` names the held work in the busy reason ("punches in progress").
    OfferAdmission(net::RateLimit per_key, net::RateLimit total, std::size_t max_held, std::string what)
        : offers_(per_key, total, net::RateClock::now()), max_held_(max_held), what_(std::move(what)) {}

    // Why an offer from `sender` is not answered while `held` are served (empty: admitted,
    // and counted in the rate limits).
    std::string admit(const Bytes& sender, std::size_t held) {
        if (held >= max_held_) return fmt::format("busy: {} {}", held, what_);
        auto verdict = offers_.admit(sender, net::RateClock::now());
        if (verdict == net::KeyedRateLimit<Bytes>::Verdict::key_limited) return "too many offers from this node: rate limited";
        if (verdict == net::KeyedRateLimit<Bytes>::Verdict::total_limited) return "too many offers: rate limited";
        return {};
    }

private:
    net::KeyedRateLimit<Bytes> offers_;
    std::size_t max_held_;
    std::string what_;
};

}  // namespace warpgate::traversal
