#include "nat/nat_behaviour.hpp"

namespace warpgate::nat {

namespace {

// An untestable filter counts as silent: assume the NAT filters.
bool answered(const NatObservations& o, Outcome observed) { return o.filtering_testable && observed == Outcome::answered; }

}  // namespace

MappingBehaviour classify_mapping(const NatObservations& o) {
    if (!o.mapped) return MappingBehaviour::unknown;
    if (*o.mapped == o.local) return MappingBehaviour::endpoint_independent;  // no translation at all
    if (o.alternate != Outcome::answered) return MappingBehaviour::unknown;
    if (o.alternate_mapped == *o.mapped) return MappingBehaviour::endpoint_independent;
    if (o.alternate_port == Outcome::answered && o.alternate_port_mapped == o.alternate_mapped)
        return MappingBehaviour::address_dependent;
    return MappingBehaviour::address_and_port_dependent;
}

NatType classify(const NatObservations& o) {
    if (!o.mapped) return NatType::blocked;
    const bool change_both = answered(o, o.change_ip_and_port);
    if (*o.mapped == o.local) return change_both ? NatType::open_internet : NatType::symmetric_udp_firewall;
    if (change_both) return NatType::full_cone;
    // An unmeasured mapping (other IP silent) is taken as endpoint-independent, as before.
    auto mapping = classify_mapping(o);
    if (mapping == MappingBehaviour::address_dependent || mapping == MappingBehaviour::address_and_port_dependent)
        return NatType::symmetric;
    return answered(o, o.change_port) ? NatType::restricted : NatType::port_restricted;
}

}  // namespace warpgate::nat
