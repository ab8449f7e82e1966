// libFuzzer target for the NAT-PMP codec: decode_response must reject anything malformed
// without crashing, and what decodes re-encodes to the same bytes (the format has no
// reserved fields a decoder could ignore); the epoch rule stays defined for any epoch.
#include <cstddef>
#include <cstdint>

#include "proto/natpmp.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView bytes(data, size);
    auto response = natpmp::decode_response(bytes);
    if (!response) return 0;
    if (natpmp::encode(*response) != Bytes(bytes.begin(), bytes.end())) __builtin_trap();
    (void)natpmp::to_string(response->result);
    natpmp::EpochWatch watch;
    auto now = natpmp::EpochWatch::Clock::now();
    (void)watch.lost_state(response->epoch, now);
    (void)watch.lost_state(response->epoch ^ 0xffffffffu, now + std::chrono::seconds(response->lifetime));
    return 0;
}
