#include "crypto/replay_window.hpp"

namespace warpgate::crypto {

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t counter) const {
    if (!any_ || counter > highest_) return Verdict::fresh;
    if (highest_ - counter >= size) return Verdict::too_old;
    return seen(counter) ? Verdict::duplicate : Verdict::fresh;
}

void ReplayWindow::accept(std::uint64_t counter) {
    if (!any_) {
        any_ = true;
        highest_ = counter;
    } else if (counter > highest_) {
        // Slots of counters that now fall out of the window are reused by the new ones.
        if (counter - highest_ >= size) {
            bits_.fill(0);
        } else {
            for (std::uint64_t c = highest_ + 1; c < counter; ++c) set(c, false);
        }
        highest_ = counter;
    }
    set(counter, true);
}

void ReplayWindow::set(std::uint64_t counter, bool value) {
    std::uint64_t& word = bits_[(counter % size) / 64];
    std::uint64_t bit = std::uint64_t{1} << (counter % 64);
    word = value ? word | bit : word & ~bit;
}

}  // namespace warpgate::crypto
