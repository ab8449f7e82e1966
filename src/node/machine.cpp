#include "node/machine.hpp"

#include <algorithm>
#include <fstream>
#include <openssl/evp.h>
#include <string>

namespace warpgate::node {
namespace {

std::array<std::uint8_t, 32> sha256(std::string_view data) {
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string read_first_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

MachineId load_machine_id(const std::vector<Interface>& ifs) {
    std::string source;
    for (auto path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
        source = read_first_line(path);
        if (!source.empty()) break;
    }
    if (source.empty()) {
        std::vector<std::string> macs;
        for (auto& nic : ifs)
            if (!nic.mac.empty()) macs.push_back(nic.mac);
        std::sort(macs.begin(), macs.end());  // NIC order is not stable across boots
        for (auto& mac : macs) source += mac;
    }
    auto digest = sha256("warpgate machine id\n" + source);
    MachineId id;
    std::copy_n(digest.begin(), id.size(), id.begin());
    return id;
}

std::uint16_t derive_port(const MachineId& id, std::string_view salt) {
    auto digest = sha256(std::string(id.begin(), id.end()) + std::string(salt));
    std::uint32_t value = std::uint32_t(digest[0]) << 24 | std::uint32_t(digest[1]) << 16 | std::uint32_t(digest[2]) << 8 | digest[3];
    return static_cast<std::uint16_t>(10000 + value % (60000 - 10000 + 1));
}

}  // namespace warpgate::node
