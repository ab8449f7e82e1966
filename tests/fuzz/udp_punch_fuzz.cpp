// Arbitrary bytes as udp_punch signaling messages: decode rejects or accepts cleanly, never
// crashes or over-reads, and what decodes (printable reasons aside) encodes back to the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "traversal/udp_punch_message.hpp"

using namespace warpgate;
using namespace warpgate::traversal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    auto message = decode_punch_message(input);
    if (!message || message->type == UdpPunchMessage::Type::decline) return 0;
    if (encode_punch_message(*message) != Bytes(input.begin(), input.end())) std::abort();
    return 0;
}
