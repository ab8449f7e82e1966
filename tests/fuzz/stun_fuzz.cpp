// libFuzzer target for the STUN codec: decode, the typed attribute readers and the Binding
// response reader must reject anything malformed without crashing or reading out of bounds.
#include <cstddef>
#include <cstdint>

#include "proto/stun.hpp"
#include "proto/stun_binding.hpp"

using namespace warpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView bytes(data, size);
    (void)stun::message_size(bytes);
    auto m = stun::decode(bytes);
    if (!m) return 0;
    for (const auto& a : m->attributes) {
        (void)stun::read_address(a);
        (void)stun::read_xor_address(a, m->transaction_id);
        (void)stun::read_error_code(a);
        (void)stun::read_text(a);
    }
    auto response = stun::read_binding_response(*m);
    if (response) {
        // What was accepted re-encodes into a message that decodes to the same mapping.
        auto again = stun::MessageWriter(m->method, m->cls, m->transaction_id)
                         .add_xor_address(stun::attr::xor_mapped_address, response->mapped)
                         .finish(true);
        auto back = stun::decode(again);
        if (!back || stun::read_binding_response(*back)->mapped != response->mapped) __builtin_trap();
    }
    return 0;
}
