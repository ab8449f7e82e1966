// Arbitrary bytes as session records: every decoder and the TCP length prefix must reject or
// accept cleanly, never crash or over-read, and what decodes must encode back to the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "session/record.hpp"

using namespace warpgate;
using namespace warpgate::session;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    if (auto hello = decode_hello(input)) {
        if (encode_hello(*hello) != Bytes(input.begin(), input.end())) std::abort();
    }
    if (auto reply = decode_reply(input)) {
        if (encode_reply(*reply) != Bytes(input.begin(), input.end())) std::abort();
    }
    if (auto punch = decode_punch(input)) {
        if (encode_punch(*punch) != Bytes(input.begin(), input.end())) std::abort();
        if (punch_token_of(input) != punch->token) std::abort();
    }
    (void)decode_refuse(input);
    (void)receiver_of(input);
    if (size >= sealed_prefix) (void)decode_inner(input.subspan(sealed_prefix));
    if (size >= tcp_length_size)
        (void)decode_length(std::span<const std::uint8_t, tcp_length_size>(data, tcp_length_size), max_introduction_record);
    return 0;
}
