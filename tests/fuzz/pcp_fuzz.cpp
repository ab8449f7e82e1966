// libFuzzer target for the PCP codec (MAP): both decoders must reject anything malformed
// without crashing, and what decodes survives encode and decode unchanged (reserved fields
// are ignored on receipt, so the bytes themselves may differ).
#include <cstddef>
#include <cstdint>

#include "proto/pcp.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView bytes(data, size);
    if (auto response = pcp::decode_map_response(bytes)) {
        auto again = pcp::decode_map_response(pcp::encode(*response));
        if (!again || *again != *response) __builtin_trap();
        (void)pcp::to_string(response->result);
    }
    if (auto request = pcp::decode_map_request(bytes)) {
        auto again = pcp::decode_map_request(pcp::encode(*request));
        if (!again || *again != *request) __builtin_trap();
    }
    return 0;
}
