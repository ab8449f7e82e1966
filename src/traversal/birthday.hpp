// Birthday probing: a direct UDP path between a NAT that maps every flow to a random port
// (random symmetric, the hard side) and one with an endpoint-independent mapping whose filter
// wants the exact remote port (port-restricted cone, the easy side).
//
// The hard side opens N sockets, each sending to the easy side's one external endpoint E:
// its NAT gives each flow a random external port r_1..r_N, unknown to everyone, and the easy
// side's filter drops them (nothing went out to those ports yet). The easy side sends M probes
// from its listen socket (so all of them come from E) to M distinct random ports q_j of the
// hard side's address. A probe with q_j in {r_i} matches the hard NAT's flow i exactly
// (r_i <-> E) and arrives on socket i; socket i's answer then passes the easy side's filter,
// which the probe to q_j opened. Over K possible ports (1024-65535: K = 64,512 for Linux's
// --random-fully and for most routers):
//
//   P(no hit) = (1 - N/K)^M        P(hit) = 1 - (1 - N/K)^M ~ 1 - exp(-N*M/K)
//   M for a target P:  M = ceil( ln(1 - P) / ln(1 - N/K) )
//
//   N = 256 (a consumer router's flow cap, the original's number):
//     M = 1,024 -> P = 98.3 %;   P = 99 % -> M = 1,159;   P = 99.9 % -> M = 1,738
//
// The hard side's sockets must exist before the probes arrive (the easy side starts after
// their open time plus a one-way delay), both fan-outs are paced (a burst is what consumer
// routers drop and port-scan heuristics flag), the easy side sweeps its M ports again until
// the window closes (a hit lost to packet loss gets a second chance on the same flows), and
// every socket is closed when the punch ends.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace warpgate::traversal::birthday {

inline constexpr std::size_t port_range = 64512;  // external ports 1024-65535
inline constexpr std::uint16_t first_port = 1024;
inline constexpr std::size_t sockets = 256;
inline constexpr double target_probability = 0.999;
inline constexpr std::chrono::microseconds socket_pace{3000};  // hard side: 256 flows in ~0.8 s
inline constexpr std::chrono::microseconds probe_pace{1000};   // easy side: 1,000 new flows a second

// P(hit) for N sockets and M probes over `range` ports.
double probability(std::size_t n_sockets, std::size_t m_probes, std::size_t range = port_range);
// The smallest M that reaches `target` with N sockets (target in (0, 1)).
std::size_t probes_for(std::size_t n_sockets, double target, std::size_t range = port_range);
// `count` distinct random ports in [first_port, 65535], in random order.
std::vector<std::uint16_t> random_ports(std::size_t count);

}  // namespace warpgate::traversal::birthday
