// NAT type and mapping behaviour from STUN observations: RFC 5780's tests (section 4.3
// mapping, section 4.4 filtering), read through the decision tree of RFC 3489 section 10.1 as
// the original warpgate ran it. Pure logic: the tests run in nat/nat_discovery.cpp.
//
//   test I (binding to the primary address) answered?  no ─> blocked
//     mapped == local?  yes ─> filtering test II answered? ─> open internet : symmetric UDP firewall
//   filtering test II (CHANGE-REQUEST ip+port) answered?  yes ─> full cone
//   mapping test II (the other IP): same mapping?  no ─> symmetric
//   filtering test III (CHANGE-REQUEST port) answered?  yes ─> restricted : port restricted
//
// The filtering tests run on sockets of their own that send to the primary address only, so
// that they can run at the same time as the mapping tests (whose packets to the other IP would
// open an address-restricted filter for it and make it look like full cone).
#pragma once
#include <optional>
#include <warpgate/endpoint.hpp>
#include <warpgate/nat.hpp>

namespace warpgate::nat {

enum class Outcome : std::uint8_t { not_run, answered, silent };

struct NatObservations {
    Endpoint local;                   // the socket of the mapping tests
    std::optional<Endpoint> mapped;   // test I; nullopt when no server answered
    // False when no server offered RFC 5780 (no OTHER-ADDRESS, or it ignored CHANGE-REQUEST):
    // filtering then cannot be measured and the strictest cone (port restricted) is assumed.
    bool filtering_testable = true;
    Outcome change_ip_and_port = Outcome::not_run;  // filtering test II
    Outcome change_port = Outcome::not_run;         // filtering test III
    Outcome alternate = Outcome::not_run;           // mapping test II: the other IP, primary port
    Endpoint alternate_mapped;                      // valid when alternate == answered
    Outcome alternate_port = Outcome::not_run;      // mapping test III: the other IP and port
    Endpoint alternate_port_mapped;                 // valid when alternate_port == answered
};

// The NAT type, with every test not run counted as silent (the cautious reading).
NatType classify(const NatObservations& o);

// Endpoint-independent when the other IP sees the same mapping; then address-dependent when
// the other IP's other port sees the same mapping as its primary port, else
// address-and-port-dependent (also when test III went unanswered: the cautious reading).
// Unknown when test I or mapping test II went unanswered.
MappingBehaviour classify_mapping(const NatObservations& o);

}  // namespace warpgate::nat
