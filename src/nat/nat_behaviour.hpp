// NAT type from STUN observations: the decision tree of RFC 3489 §10.1 as the original
// warpgate ran it, on RFC 5780's tests (§4.3 mapping, §4.4 filtering). Pure logic: the tests
// themselves run in nat/nat_discovery.cpp, which asks decide() what to run next.
//
//   test I (binding to the primary address) answered?  no ─> blocked
//     mapped == local?  yes ─> test II answered? ─> open internet : symmetric UDP firewall
//   test II (CHANGE-REQUEST ip+port) answered?  yes ─> full cone
//   test I against the other IP: same mapping?  no ─> symmetric
//   test III (CHANGE-REQUEST port) answered?  yes ─> restricted : port restricted
//
// Order matters: test II must run before anything is sent to the other IP, or an
// address-restricted NAT would let the changed-address answer in and look like full cone.
#pragma once
#include <variant>
#include <warpgate/endpoint.hpp>
#include <warpgate/nat.hpp>

namespace warpgate::nat {

enum class Outcome : std::uint8_t { not_run, answered, silent };

enum class NatTest : std::uint8_t {
    change_ip_and_port,  // test II: answer from the other IP and port
    alternate_mapping,   // test I sent to the other IP (primary port): does the mapping change?
    change_port,         // test III: answer from the primary IP, other port
};

struct NatObservations {
    Endpoint local;                   // the socket every test used
    std::optional<Endpoint> mapped;   // test I; nullopt when no server answered
    // False when no server offered RFC 5780 (no OTHER-ADDRESS, or it ignored CHANGE-REQUEST):
    // filtering then cannot be measured and the strictest cone (port restricted) is assumed.
    bool filtering_testable = true;
    Outcome change_ip_and_port = Outcome::not_run;
    Outcome alternate = Outcome::not_run;
    Endpoint alternate_mapped;        // valid when alternate == answered
    Outcome change_port = Outcome::not_run;
};

// The NAT type once the observations settle it, else the test to run next.
std::variant<NatType, NatTest> decide(const NatObservations& o);

// The NAT type with every test not run counted as silent (the cautious reading).
NatType classify(NatObservations o);

}  // namespace warpgate::nat
