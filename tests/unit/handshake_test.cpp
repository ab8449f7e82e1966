#include <gtest/gtest.h>

#include "crypto/handshake.hpp"
#include "crypto/secure_channel.hpp"
#include "support/crypto_vectors.hpp"

using namespace warpgate;
using namespace warpgate::crypto;
namespace vectors = warpgate::test::vectors;

namespace {

KeyPair pair_of(std::uint8_t byte) { return *KeyPair::from_private_bytes(vectors::scalar_of(byte)); }
IdentityKey identity_of(std::uint8_t byte) { return *IdentityKey::from_private_bytes(vectors::scalar_of(byte)); }

// A hello or reply re-signed by `signer`, as an attacker holding only its own key can do.
// `context` and `signed_before` mirror docs/link-handshake.md.
Bytes resigned(ByteView message, const IdentityKey& signer, std::string_view context, ByteView signed_before = {}) {
    Bytes body(message.begin(), message.end() - signature_size);
    std::copy(signer.public_key().begin(), signer.public_key().end(), body.begin() + 35);
    Bytes to_sign(context.begin(), context.end());
    to_sign.insert(to_sign.end(), signed_before.begin(), signed_before.end());
    to_sign.insert(to_sign.end(), body.begin(), body.end());
    Bytes signature = signer.sign(to_sign);
    body.insert(body.end(), signature.begin(), signature.end());
    return body;
}

struct Parties {
    IdentityKey alice = IdentityKey::generate();
    IdentityKey bob = IdentityKey::generate();
    IdentityKey mallory = IdentityKey::generate();
};

}  // namespace

TEST(Handshake, OneRoundTripGivesMatchingKeysAndVerifiedIdentities) {
    Parties p;
    Handshake initiator = Handshake::initiator(p.alice, p.bob.public_key());
    Handshake responder = Handshake::responder(p.bob);
    ASSERT_EQ(initiator.hello().size(), hello_size);
    auto answered = responder.on_hello(initiator.hello());
    ASSERT_TRUE(answered) << answered.error().to_string();
    auto& [reply, bob_keys] = *answered;
    ASSERT_EQ(reply.size(), reply_size);
    auto alice_keys = initiator.on_reply(reply);
    ASSERT_TRUE(alice_keys) << alice_keys.error().to_string();

    EXPECT_EQ(alice_keys->peer_public_key, p.bob.public_key());
    EXPECT_EQ(alice_keys->peer_node_id, node_id(p.bob.public_key()));
    EXPECT_EQ(bob_keys.peer_public_key, p.alice.public_key());
    EXPECT_EQ(bob_keys.peer_node_id, node_id(p.alice.public_key()));
    EXPECT_EQ(alice_keys->send_key, bob_keys.receive_key);
    EXPECT_EQ(alice_keys->receive_key, bob_keys.send_key);
    EXPECT_NE(alice_keys->send_key, alice_keys->receive_key);
    EXPECT_EQ(alice_keys->transcript_hash, bob_keys.transcript_hash);
}

TEST(Handshake, EveryLinkGetsFreshKeys) {
    Parties p;
    auto run = [&] {
        Handshake initiator = Handshake::initiator(p.alice, p.bob.public_key());
        return *initiator.on_reply(Handshake::responder(p.bob).on_hello(initiator.hello())->first);
    };
    EXPECT_NE(run().send_key, run().send_key);
}

TEST(Handshake, MatchesTheTestVectors) {
    IdentityKey alice = identity_of(vectors::initiator_identity);
    IdentityKey bob = identity_of(vectors::responder_identity);
    HelloNonce nonce;
    nonce.fill(vectors::hello_nonce_byte);
    Handshake initiator = Handshake::initiator(alice, bob.public_key(), pair_of(vectors::initiator_ephemeral), nonce);
    EXPECT_EQ(to_hex(ByteView(initiator.hello()).first(100)), vectors::hello_body);
    EXPECT_TRUE(Handshake::responder(bob).on_hello(initiator.hello()));

    // The recorded hello and reply carry signatures made by the independent implementation.
    auto answered = Handshake::responder(bob, pair_of(vectors::responder_ephemeral)).on_hello(from_hex(vectors::hello));
    ASSERT_TRUE(answered) << answered.error().to_string();
    EXPECT_EQ(to_hex(ByteView(answered->first).first(68)), vectors::reply_body);
    auto keys = initiator.on_reply(from_hex(vectors::reply));
    ASSERT_TRUE(keys) << keys.error().to_string();
    EXPECT_EQ(to_hex(answered->second.transcript_hash), vectors::transcript_hash);
    EXPECT_EQ(to_hex(keys->transcript_hash), vectors::transcript_hash);
    EXPECT_EQ(to_hex(keys->send_key), vectors::key_initiator_to_responder);
    EXPECT_EQ(to_hex(keys->receive_key), vectors::key_responder_to_initiator);
    EXPECT_EQ(to_hex(answered->second.send_key), vectors::key_responder_to_initiator);
    EXPECT_EQ(to_hex(answered->second.receive_key), vectors::key_initiator_to_responder);
    // Our own reply (fresh signature) yields the same keys: signatures are not in the key schedule.
    EXPECT_EQ(initiator.on_reply(answered->first)->send_key, keys->send_key);
}

TEST(Handshake, WrongPeerAtTheDialledAddressIsRejected) {
    Parties p;
    IdentityKey carol = IdentityKey::generate();
    Handshake initiator = Handshake::initiator(p.alice, p.bob.public_key());
    auto answered = Handshake::responder(carol).on_hello(initiator.hello());
    ASSERT_TRUE(answered);
    auto keys = initiator.on_reply(answered->first);
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().code, Errc::auth_failed);
    EXPECT_NE(keys.error().message.find(node_id(carol.public_key())), std::string::npos) << keys.error().message;
    EXPECT_NE(keys.error().message.find(node_id(p.bob.public_key())), std::string::npos) << keys.error().message;
}

TEST(Handshake, ManInTheMiddleWithItsOwnKeysIsRejected) {
    Parties p;
    Handshake alice = Handshake::initiator(p.alice, p.bob.public_key());
    // Mallory runs her own handshake with Bob and answers Alice with her own keys.
    Handshake mallory_to_bob = Handshake::initiator(p.mallory, p.bob.public_key());
    auto bob_answer = Handshake::responder(p.bob).on_hello(mallory_to_bob.hello());
    ASSERT_TRUE(bob_answer);
    EXPECT_EQ(bob_answer->second.peer_node_id, node_id(p.mallory.public_key()));  // Bob sees Mallory, not Alice
    auto mallory_answer = Handshake::responder(p.mallory).on_hello(alice.hello());
    ASSERT_TRUE(mallory_answer);
    auto keys = alice.on_reply(mallory_answer->first);
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().code, Errc::auth_failed);
}

TEST(Handshake, SubstitutedEphemeralKeysAreRejected) {
    Parties p;
    Bytes mallory_ephemeral = KeyPair::generate().public_key();
    Handshake alice = Handshake::initiator(p.alice, p.bob.public_key());

    Bytes hello = alice.hello();
    std::copy(mallory_ephemeral.begin(), mallory_ephemeral.end(), hello.begin() + 2);
    auto answered = Handshake::responder(p.bob).on_hello(hello);
    ASSERT_FALSE(answered);
    EXPECT_EQ(answered.error().code, Errc::auth_failed);

    Bytes reply = Handshake::responder(p.bob).on_hello(alice.hello())->first;
    std::copy(mallory_ephemeral.begin(), mallory_ephemeral.end(), reply.begin() + 2);
    auto keys = alice.on_reply(reply);
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().code, Errc::auth_failed);
}

TEST(Handshake, SubstitutedIdentityKeysAreRejected) {
    Parties p;
    Handshake alice = Handshake::initiator(p.alice, p.bob.public_key());
    // Mallory re-signs Alice's hello as herself (Alice's ephemeral key, Mallory's identity) so
    // that Bob would attribute Alice's link to Mallory: Bob's signature then covers a hello that
    // Alice did not send.
    Bytes hello = resigned(alice.hello(), p.mallory, "warpgate-link-v1 hello");
    auto answered = Handshake::responder(p.bob).on_hello(hello);
    ASSERT_TRUE(answered);
    EXPECT_EQ(alice.on_reply(answered->first).error().code, Errc::auth_failed);

    // Mallory re-signs Bob's reply as herself: a valid signature, but not the dialled node.
    Bytes honest_hello_body(alice.hello().begin(), alice.hello().begin() + 100);
    Bytes reply = resigned(Handshake::responder(p.bob).on_hello(alice.hello())->first, p.mallory,
                           "warpgate-link-v1 reply", honest_hello_body);
    auto keys = alice.on_reply(reply);
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().code, Errc::auth_failed);
    EXPECT_NE(keys.error().message.find("not the dialled node"), std::string::npos);
}

TEST(Handshake, EveryTamperedByteIsRejected) {
    Parties p;
    Handshake alice = Handshake::initiator(p.alice, p.bob.public_key());
    Handshake bob = Handshake::responder(p.bob);
    Bytes reply = bob.on_hello(alice.hello())->first;
    auto expected = [](std::size_t i) { return i == 0 ? Errc::unsupported : i == 1 ? Errc::malformed : Errc::auth_failed; };
    for (std::size_t i = 0; i < hello_size; ++i) {
        Bytes hello = alice.hello();
        hello[i] ^= 0x80;
        auto answered = bob.on_hello(hello);
        ASSERT_FALSE(answered) << "hello byte " << i;
        if (i < 2 || i >= 68) EXPECT_EQ(answered.error().code, expected(i)) << "hello byte " << i;
    }
    for (std::size_t i = 0; i < reply_size; ++i) {
        Bytes tampered = reply;
        tampered[i] ^= 0x80;
        auto keys = alice.on_reply(tampered);
        ASSERT_FALSE(keys) << "reply byte " << i;
        if (i < 2 || i >= 68) EXPECT_EQ(keys.error().code, expected(i)) << "reply byte " << i;
    }
}

TEST(Handshake, RejectsWrongSizesAndRoles) {
    Parties p;
    Handshake alice = Handshake::initiator(p.alice, p.bob.public_key());
    Handshake bob = Handshake::responder(p.bob);
    Bytes hello = alice.hello();
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, hello_size - 1, reply_size})
        EXPECT_EQ(bob.on_hello(ByteView(hello).first(size)).error().code, Errc::malformed) << size;
    hello.push_back(0);
    EXPECT_EQ(bob.on_hello(hello).error().code, Errc::malformed);
    // A hello is not a reply, even at the right size.
    Bytes reply = bob.on_hello(alice.hello())->first;
    reply[1] = 0x01;
    EXPECT_EQ(alice.on_reply(reply).error().code, Errc::malformed);
    EXPECT_EQ(alice.on_hello(alice.hello()).error().code, Errc::unsupported);
    EXPECT_EQ(bob.on_reply(reply).error().code, Errc::unsupported);
}

TEST(Handshake, ReplayedHelloYieldsNoUsableLink) {
    Parties p;
    Handshake alice = Handshake::initiator(p.alice, p.bob.public_key());
    Handshake bob = Handshake::responder(p.bob);
    auto first = bob.on_hello(alice.hello());
    SecureChannel alice_channel(*alice.on_reply(first->first), ChannelMode::stream);
    Bytes captured = alice_channel.seal(as_bytes("first record"));

    // An eavesdropper replays the hello and the first record: Bob answers with a new ephemeral
    // key, so the replayed record does not open and the link never confirms.
    auto replayed = bob.on_hello(alice.hello());
    ASSERT_TRUE(replayed);
    SecureChannel bob_channel(replayed->second, ChannelMode::stream);
    auto opened = bob_channel.open(captured);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::auth_failed);
}
