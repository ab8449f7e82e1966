#include "traversal/birthday.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <stdexcept>

#include "crypto/random.hpp"

namespace warpgate::traversal::birthday {

double probability(std::size_t n_sockets, std::size_t m_probes, std::size_t range) {
    auto miss = 1.0 - double(std::min(n_sockets, range)) / double(range);
    return 1.0 - std::pow(miss, double(m_probes));
}

std::size_t probes_for(std::size_t n_sockets, double target, std::size_t range) {
    if (!(target > 0 && target < 1) || n_sockets == 0) throw std::invalid_argument("birthday: target in (0, 1) and N > 0");
    if (n_sockets >= range) return 1;
    auto m = std::log(1.0 - target) / std::log(1.0 - double(n_sockets) / double(range));
    return std::min(range, static_cast<std::size_t>(std::ceil(m - 1e-9)));
}

std::vector<std::uint16_t> random_ports(std::size_t count) {
    // A partial Fisher-Yates shuffle of the whole range: distinct ports, uniformly drawn.
    std::vector<std::uint16_t> ports(port_range);
    std::iota(ports.begin(), ports.end(), first_port);
    count = std::min(count, ports.size());
    std::vector<std::uint32_t> draws(count);
    crypto::random_bytes(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(draws.data()), draws.size() * sizeof(std::uint32_t)));
    for (std::size_t i = 0; i < count; ++i) std::swap(ports[i], ports[i + draws[i] % (ports.size() - i)]);
    ports.resize(count);
    return ports;
}

}  // namespace warpgate::traversal::birthday
