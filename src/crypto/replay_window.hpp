// Anti-replay for datagram links: a sliding bitmap over the last `size` counters, as IPsec's
// (RFC 4303 §3.4.3). Loss and reordering within the window pass; duplicates and counters that
// fell behind the window do not.
#pragma once
#include <array>
#include <cstdint>

namespace warpgate::crypto {

class ReplayWindow {
public:
    static constexpr std::uint64_t size = 1024;
    enum class Verdict { fresh, duplicate, too_old };

    Verdict check(std::uint64_t counter) const;
    // Records a counter that check() called fresh and whose record authenticated. Marking only
    // after authentication keeps forged records from advancing the window.
    void accept(std::uint64_t counter);

private:
    bool seen(std::uint64_t counter) const { return bits_[(counter % size) / 64] >> (counter % 64) & 1; }
    void set(std::uint64_t counter, bool value);

    bool any_ = false;
    std::uint64_t highest_ = 0;
    std::array<std::uint64_t, size / 64> bits_{};  // bit (c mod size) is counter c, for c in the window
};

}  // namespace warpgate::crypto
