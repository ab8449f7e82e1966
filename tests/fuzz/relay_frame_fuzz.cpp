// libFuzzer target for the CLI's stream relay frames (`warpgate pipe` / `forward`,
// apps/warpgate/stream_relay.hpp): parse_relay_frame must take a well-formed frame as it is
// and refuse everything else with Errc::malformed, never another error or a crash.
#include <cstddef>
#include <cstdint>

#include "stream_relay.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView bytes(data, size);
    try {
        auto frame = cli::parse_relay_frame(bytes);
        if (frame.kind == cli::relay_data) {
            if (frame.body.empty() || frame.body.size() > cli::relay_chunk || frame.body.data() != data + 1) __builtin_trap();
        } else if ((frame.kind != cli::relay_end && frame.kind != cli::relay_end_ack) || size != 1) {
            __builtin_trap();
        }
    } catch (const Exception& e) {
        if (e.errc() != Errc::malformed) __builtin_trap();
    }
    return 0;
}
