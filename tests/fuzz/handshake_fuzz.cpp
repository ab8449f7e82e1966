// Arbitrary bytes as a link hello, a reply, and secure records (stream and datagram): every
// input must be rejected or accepted cleanly, never crash or over-read. The first byte picks
// the parser; the parties are those of the test vectors, so the seeds (valid messages from
// docs/link-handshake.md) reach the signature and AEAD checks.
#include <cstddef>
#include <cstdint>

#include "crypto/handshake.hpp"
#include "crypto/secure_channel.hpp"
#include "../support/crypto_vectors.hpp"

using namespace warpgate;
using namespace warpgate::crypto;
namespace vectors = warpgate::test::vectors;

namespace {

IdentityKey identity_of(std::uint8_t byte) { return *IdentityKey::from_private_bytes(vectors::scalar_of(byte)); }

HelloNonce vector_nonce() {
    HelloNonce nonce;
    nonce.fill(vectors::hello_nonce_byte);
    return nonce;
}

struct Parties {
    IdentityKey alice = identity_of(vectors::initiator_identity);
    IdentityKey bob = identity_of(vectors::responder_identity);
    Handshake initiator = Handshake::initiator(alice, bob.public_key(),
                                               *KeyPair::from_private_bytes(vectors::scalar_of(vectors::initiator_ephemeral)),
                                               vector_nonce());
    Handshake responder = Handshake::responder(bob);
    Keys responder_keys = Handshake::responder(bob).on_hello(from_hex(vectors::hello))->second;
};

// Datagram input: records each preceded by a one-byte length.
void open_datagrams(SecureChannel& channel, ByteView input) {
    while (!input.empty()) {
        std::size_t size = std::min<std::size_t>(input[0], input.size() - 1);
        (void)channel.open(input.subspan(1, size));
        input = input.subspan(1 + size);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Parties parties;
    if (size == 0) return 0;
    ByteView input(data + 1, size - 1);
    switch (data[0] % 4) {
        case 0: (void)parties.responder.on_hello(input); break;
        case 1: (void)parties.initiator.on_reply(input); break;
        case 2: {
            SecureChannel channel(parties.responder_keys, ChannelMode::stream);
            (void)channel.open(input);
            (void)channel.open(input);
            break;
        }
        default: {
            SecureChannel channel(parties.responder_keys, ChannelMode::datagram);
            open_datagrams(channel, input);
        }
    }
    return 0;
}
