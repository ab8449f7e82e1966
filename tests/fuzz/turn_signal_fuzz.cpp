// Feeds arbitrary bytes to the turn plugin's signal message decoder. The encoding is
// canonical: whatever decode_turn accepts, encode_turn must give back byte for byte.
#include <cstdio>
#include <cstdlib>

#include "traversal/turn_signal.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    if (auto decoded = traversal::decode_turn(input)) {
        if (traversal::encode_turn(*decoded) != Bytes(input.begin(), input.end())) {
            std::fprintf(stderr, "turn_signal_fuzz: encode did not reproduce the input\n");
            std::abort();
        }
    }
    return 0;
}
