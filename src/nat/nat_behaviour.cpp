#include "nat/nat_behaviour.hpp"

namespace warpgate::nat {

namespace {

// An untestable filter counts as silent: assume the NAT filters.
Outcome filter_outcome(const NatObservations& o, Outcome observed) {
    return o.filtering_testable ? observed : Outcome::silent;
}

}  // namespace

std::variant<NatType, NatTest> decide(const NatObservations& o) {
    if (!o.mapped) return NatType::blocked;
    auto change_both = filter_outcome(o, o.change_ip_and_port);
    if (change_both == Outcome::not_run) return NatTest::change_ip_and_port;
    if (*o.mapped == o.local) return change_both == Outcome::answered ? NatType::open_internet : NatType::symmetric_udp_firewall;
    if (change_both == Outcome::answered) return NatType::full_cone;
    if (o.alternate == Outcome::not_run) return NatTest::alternate_mapping;
    // A silent alternate leaves the mapping unmeasured: carry on as if it were the same.
    if (o.alternate == Outcome::answered && o.alternate_mapped != *o.mapped) return NatType::symmetric;
    auto change_port = filter_outcome(o, o.change_port);
    if (change_port == Outcome::not_run) return NatTest::change_port;
    return change_port == Outcome::answered ? NatType::restricted : NatType::port_restricted;
}

NatType classify(NatObservations o) {
    for (;;) {
        auto next = decide(o);
        if (auto* type = std::get_if<NatType>(&next)) return *type;
        switch (std::get<NatTest>(next)) {
            case NatTest::change_ip_and_port: o.change_ip_and_port = Outcome::silent; break;
            case NatTest::alternate_mapping: o.alternate = Outcome::silent; break;
            case NatTest::change_port: o.change_port = Outcome::silent; break;
        }
    }
}

}  // namespace warpgate::nat
