// Machine identity: stable across restarts, so the derived listen port is too (UPnP mappings
// and peers' cached addresses stay valid).
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>
#include <warpgate/interface.hpp>

namespace warpgate::node {

using MachineId = std::array<std::uint8_t, 16>;

// sha256 of /etc/machine-id (or dbus's copy), else of the NICs' MAC addresses; first 16 bytes.
MachineId load_machine_id(const std::vector<Interface>& ifs);

// The original's field_wrap(dhash(machine_id), [10000, 60000]); `salt` separates several
// identities on one machine (Gate names).
std::uint16_t derive_port(const MachineId& id, std::string_view salt);

}  // namespace warpgate::node
