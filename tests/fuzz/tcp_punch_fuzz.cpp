// Feeds arbitrary bytes to tcp_punch's signal message decoder. The encoding is canonical:
// whatever decode_punch accepts, encode_punch must give back byte for byte.
#include <cstdio>
#include <cstdlib>

#include "traversal/tcp_punch_message.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    if (auto decoded = traversal::decode_punch(input)) {
        if (traversal::encode_punch(*decoded) != Bytes(input.begin(), input.end())) {
            std::fprintf(stderr, "tcp_punch_fuzz: encode did not reproduce the input\n");
            std::abort();
        }
    }
    return 0;
}
