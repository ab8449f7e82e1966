// Feeds arbitrary bytes to every signaling decoder: chunks (reassembly), sealed messages,
// envelopes and connect_back requests. None may crash or over-read; what an envelope decoder
// accepts must be well-formed.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "signal/signal_message.hpp"
#include "traversal/reverse_connect.hpp"

using namespace warpgate;

namespace {

void check(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "signal_fuzz: %s\n", what);
    std::abort();
}

const crypto::IdentityKey& receiver() {
    static const auto key = [] {
        Bytes scalar(32, 0x11);
        return *crypto::IdentityKey::from_private_bytes(scalar);
    }();
    return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    static signal::Reassembler reassembler;  // kept across inputs: partial messages pile up
    auto whole = reassembler.add(input, std::chrono::steady_clock::now());
    if (whole && *whole) check(!(*whole)->empty() && (*whole)->size() <= signal::max_sealed_size, "reassembled size out of range");
    check(reassembler.pending() <= signal::Reassembler::max_pending, "reassembler grew past its bound");

    (void)signal::open_signal(receiver(), input);
    if (auto m = signal::decode_envelope(input)) {
        check(m->sender.size() == crypto::public_key_size, "accepted a short sender key");
        check(m->recipient.size() == crypto::node_id_size, "accepted a short recipient");
    }
    if (auto request = traversal::decode_connect_back(input))
        check(traversal::encode_connect_back(*request) == Bytes(input.begin(), input.end()), "connect_back did not round-trip");
    return 0;
}
