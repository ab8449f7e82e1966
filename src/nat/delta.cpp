#include "nat/delta.hpp"

#include <algorithm>

namespace warpgate::nat {

namespace {

int step(std::span<const PortSample> s, std::size_t i, bool mapped) {
    return mapped ? int{s[i + 1].mapped} - int{s[i].mapped} : int{s[i + 1].local} - int{s[i].local};
}

bool all_steps(std::span<const PortSample> s, auto predicate) {
    for (std::size_t i = 0; i + 1 < s.size(); ++i)
        if (!predicate(step(s, i, true), step(s, i, false))) return false;
    return true;
}

}  // namespace

Delta classify_delta(NatType type, std::span<const PortSample> samples) {
    if (type == NatType::open_internet || type == NatType::symmetric_udp_firewall) return {DeltaType::not_applicable, 0};
    if (type == NatType::unknown || type == NatType::blocked || samples.size() < 3) return {DeltaType::unknown, 0};
    if (std::all_of(samples.begin(), samples.end(), [](const PortSample& p) { return p.mapped == p.local; }))
        return {DeltaType::equal, 0};
    if (all_steps(samples, [](int mapped, int local) { return mapped == local; }))
        return {DeltaType::preserving, int{samples[0].mapped} - int{samples[0].local}};
    int d = step(samples, 0, true);
    if (d != 0 && all_steps(samples, [d](int mapped, int) { return mapped == d; }))
        return {type == NatType::symmetric ? DeltaType::independent : DeltaType::dependent, d};
    return {DeltaType::random, 0};
}

}  // namespace warpgate::nat
