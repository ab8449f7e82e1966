// libFuzzer target for the NTP codec: decode and the reply checks must reject anything
// malformed without crashing; what decodes re-encodes to the same bytes, and the offset and
// delay arithmetic stays defined for any timestamps a reply can carry.
#include <cstddef>
#include <cstdint>

#include "proto/ntp.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView bytes(data, size);
    auto packet = ntp::decode(bytes);
    if (!packet) return 0;
    if (ntp::encode(*packet) != Bytes(bytes.begin(), bytes.end())) __builtin_trap();
    (void)ntp::kiss_code(packet->reference_id);
    // Checked as the answer to the cookie it echoes, so every later check is reached.
    auto reply = ntp::check_reply(*packet, packet->origin);
    if (!reply) return 0;
    auto t1 = ntp::WallTime(std::chrono::seconds(1767225600));
    auto e = ntp::exchange(t1, *reply, t1 + std::chrono::milliseconds(5));
    if (ntp::delay(e) < ntp::Duration::zero()) __builtin_trap();
    (void)ntp::offset(e);
    return 0;
}
