#include "traversal/port_prediction.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace warpgate::traversal {
namespace {

bool endpoint_dependent(MappingBehaviour m) {
    return m == MappingBehaviour::address_dependent || m == MappingBehaviour::address_and_port_dependent;
}

// Appends `port` when it is a valid port not listed yet; false when it is out of range.
bool add(PortPrediction& out, std::int64_t port) {
    if (port < 1 || port > 65535) return false;
    auto p = static_cast<std::uint16_t>(port);
    if (std::find(out.ports.begin(), out.ports.end(), p) == out.ports.end()) out.ports.push_back(p);
    return true;
}

// m0 + k*step for k = 1..n, stopping at the end of the port range.
PortPrediction stepping(std::uint16_t mapped, std::int32_t step, std::size_t n) {
    PortPrediction out;
    if (step == 0) {
        out.why_none = "a stepping NAT with a step of 0 (a classification error)";
        return out;
    }
    for (std::size_t k = 1; k <= n; ++k)
        if (!add(out, std::int64_t(mapped) + std::int64_t(k) * step)) break;
    if (out.empty()) out.why_none = fmt::format("stepping by {} from port {} leaves the port range", step, mapped);
    return out;
}

PortPrediction single(std::int64_t port, std::string_view what) {
    PortPrediction out;
    if (!add(out, port)) out.why_none = fmt::format("{} gives port {}, outside the port range", what, port);
    return out;
}

PortPrediction none(std::string why) {
    PortPrediction out;
    out.why_none = std::move(why);
    return out;
}

}  // namespace

bool needs_fresh_mapping(const NatInfo& nat) {
    // A NAT that keeps or mirrors ports (even a symmetric one) maps the listen port
    // predictably; only the stepping ones need to be watched just before the punch.
    return nat.delta_type == DeltaType::independent || nat.delta_type == DeltaType::dependent;
}

std::string why_unpredictable(const NatInfo& nat) {
    if (nat.delta_type == DeltaType::random) return "the NAT allocates external ports at random (random symmetric): no port to predict";
    if (endpoint_dependent(nat.mapping) && nat.delta_type == DeltaType::unknown)
        return fmt::format("the NAT maps per destination ({}) and how it allocates ports was not measured", to_string(nat.mapping));
    return {};
}

PortPrediction predict_ports(const NatInfo& nat, std::uint16_t local_port, std::optional<nat::PortSample> observed,
                             std::size_t max_candidates) {
    if (max_candidates == 0) return none("no candidates asked for");
    if (local_port == 0) return none("no local port to predict from");
    if (auto why = why_unpredictable(nat); !why.empty()) return none(why);
    auto d = nat.delta_type;
    if (d == DeltaType::not_applicable || d == DeltaType::equal) return single(local_port, "the local port");
    if (d == DeltaType::preserving) {
        if (observed) return single(std::int64_t(observed->mapped) + local_port - observed->local, "the preserved distance");
        return single(std::int64_t(local_port) + nat.delta_value, "the preserving delta");
    }
    if (d == DeltaType::independent) {
        if (!observed) return none("a NAT that takes the next port for every flow needs a mapping observed just before the punch");
        return stepping(observed->mapped, nat.delta_value, max_candidates);
    }
    if (d == DeltaType::dependent) {
        if (!observed) return none("a NAT that takes the next port for every local port needs an observed mapping");
        if (observed->local == local_port) return single(observed->mapped, "the observed mapping");
        return stepping(observed->mapped, nat.delta_value, max_candidates);
    }
    // unknown (random was declined above)
    if (observed && observed->local == local_port) return single(observed->mapped, "the observed mapping");
    return single(local_port, "the local port");
}

}  // namespace warpgate::traversal
