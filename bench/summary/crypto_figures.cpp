// CPU cost of the link handshake (both sides, everything Handshake does: key generation,
// signatures, verifications, ECDH, key schedule) and of its secp256k1 operations alone.

#include "crypto/handshake.hpp"
#include "summary.hpp"

namespace warpgate::bench {
namespace {

// CPU time per call of `operation`, in microseconds (median of several batches).
template <class F>
double cpu_us_per_call(int batches, int per_batch, F&& operation) {
    std::vector<double> samples;
    for (int b = 0; b < batches; ++b) {
        auto begin = cpu_seconds();
        for (int i = 0; i < per_batch; ++i) operation();
        samples.push_back((cpu_seconds() - begin) * 1e6 / per_batch);
    }
    return median(samples);
}

}  // namespace

std::vector<Figure> crypto_figures(const Sizes& sizes) {
    using namespace crypto;
    auto alice = IdentityKey::generate();
    auto bob = IdentityKey::generate();
    int batches = std::max(3, sizes.repetitions / 3);
    auto handshake_us = cpu_us_per_call(batches, 50, [&] {
        auto initiator = Handshake::initiator(alice, bob.public_key());
        auto answer = Handshake::responder(bob).on_hello(initiator.hello());
        if (!answer || !initiator.on_reply(answer->first)) throw std::runtime_error("handshake failed");
    });
    Bytes message(100, 0x42);
    auto signature = alice.sign(message);
    auto sign_us = cpu_us_per_call(batches, 100, [&] { alice.sign(message); });
    auto verify_us = cpu_us_per_call(batches, 100, [&] {
        if (!verify(alice.public_key(), message, signature)) throw std::runtime_error("verify failed");
    });
    auto ephemeral = KeyPair::generate();
    auto ecdh_us = cpu_us_per_call(batches, 100, [&] {
        if (!ephemeral.agree(bob.public_key())) throw std::runtime_error("ECDH failed");
    });
    auto keygen_us = cpu_us_per_call(batches, 100, [] { KeyPair::generate(); });
    return {
        {"link handshake CPU, both sides", "ms", handshake_us / 1000, std::nullopt, "", "< 0.3 ms"},
        {"secp256k1 ECDSA sign", "us", sign_us, std::nullopt, "", "tens of us"},
        {"secp256k1 ECDSA verify", "us", verify_us, std::nullopt, "", "tens of us"},
        {"secp256k1 ECDH", "us", ecdh_us, std::nullopt, "", "tens of us"},
        {"secp256k1 key generation", "us", keygen_us, std::nullopt, "", "tens of us"},
    };
}

}  // namespace warpgate::bench
