#include "stream_relay.hpp"

#include <string>

namespace warpgate::cli {

RelayFrame parse_relay_frame(ByteView frame) {
    if (frame.empty()) throw Exception(Errc::malformed, "stream relay: empty frame");
    auto kind = frame[0];
    if (kind == relay_end || kind == relay_end_ack) {
        if (frame.size() != 1) throw Exception(Errc::malformed, "stream relay: end frame with a body");
        return {kind, {}};
    }
    if (kind != relay_data) throw Exception(Errc::malformed, "stream relay: unknown frame kind " + std::to_string(kind));
    if (frame.size() == 1 || frame.size() > 1 + relay_chunk)
        throw Exception(Errc::malformed, "stream relay: data frame of " + std::to_string(frame.size() - 1) + " bytes (1 .. 65536)");
    return {kind, frame.subspan(1)};
}

}  // namespace warpgate::cli
