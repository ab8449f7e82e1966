// Token buckets: at most `burst` events at once, refilled at burst per `window`. Time is passed
// in by the caller (steady clock in production, a hand-moved time point in tests), so the
// limits are exact and testable without sleeping.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>

namespace warpgate::net {

using RateClock = std::chrono::steady_clock;

struct RateLimit {
    std::size_t burst = 1;                 // tokens when full
    std::chrono::milliseconds window{1000};  // time to refill from empty to full
};

class TokenBucket {
public:
    TokenBucket(RateLimit limit, RateClock::time_point now)
        : limit_(limit), tokens_(static_cast<double>(limit.burst)), updated_(now) {}

    // True when an event may happen now (a token is there); takes nothing.
    bool ready(RateClock::time_point now) {
        refill(now);
        return tokens_ >= 1.0;
    }
    // Takes a token when one is there.
    bool try_take(RateClock::time_point now) {
        if (!ready(now)) return false;
        tokens_ -= 1.0;
        return true;
    }
    // Full again: the bucket says nothing a new one would not.
    bool full(RateClock::time_point now) {
        refill(now);
        return tokens_ >= static_cast<double>(limit_.burst);
    }

private:
    void refill(RateClock::time_point now) {
        if (now <= updated_) return;  // a clock that stands still (or a test going back) adds nothing
        auto elapsed = std::chrono::duration<double, std::milli>(now - updated_).count();
        auto per_ms = static_cast<double>(limit_.burst) / static_cast<double>(std::max<std::int64_t>(limit_.window.count(), 1));
        tokens_ = std::min(static_cast<double>(limit_.burst), tokens_ + elapsed * per_ms);
        updated_ = now;
    }

    RateLimit limit_;
    double tokens_;
    RateClock::time_point updated_;
};

// One bucket per key (a requesting peer) and one for all keys together. An event is admitted
// only when both have a token, and then takes from both, so a refused event costs nothing.
// Per-key buckets are created only for admitted events and dropped once full again, so their
// number is bounded by the total rate (about two windows' worth of total.burst keys).
template <class Key>
class KeyedRateLimit {
public:
    enum class Verdict { admitted, key_limited, total_limited };

    KeyedRateLimit(RateLimit per_key, RateLimit total, RateClock::time_point now) : per_key_(per_key), total_(total, now) {}

    Verdict admit(const Key& key, RateClock::time_point now) {
        for (auto it = buckets_.begin(); it != buckets_.end();) it = it->second.full(now) ? buckets_.erase(it) : std::next(it);
        auto it = buckets_.find(key);
        if (it != buckets_.end() && !it->second.ready(now)) return Verdict::key_limited;
        if (!total_.try_take(now)) return Verdict::total_limited;
        if (it == buckets_.end()) it = buckets_.emplace(key, TokenBucket(per_key_, now)).first;
        it->second.try_take(now);
        return Verdict::admitted;
    }
    std::size_t tracked_keys() const { return buckets_.size(); }

private:
    RateLimit per_key_;
    TokenBucket total_;
    std::map<Key, TokenBucket> buckets_;
};

}  // namespace warpgate::net
