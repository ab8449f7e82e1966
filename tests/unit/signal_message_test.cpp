#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "crypto/seal.hpp"
#include "signal/signal_message.hpp"
#include "traversal/reverse_connect.hpp"

using namespace warpgate;
using namespace warpgate::signal;
using namespace std::chrono_literals;

namespace {

const SystemClock::time_point t0 = SystemClock::time_point(std::chrono::milliseconds(1'750'000'000'000));

Bytes pattern(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 31 + 7);
    return b;
}

SignalMessage message_from(const crypto::IdentityKey& sender, const crypto::IdentityKey& recipient) {
    SignalMessage m;
    m.type = SignalType::text;
    m.sender = sender.public_key();
    m.recipient = crypto::node_id(recipient.public_key());
    m.timestamp_ms = to_unix_ms(t0);
    m.nonce.fill(0x42);
    m.payload = pattern(10);
    return m;
}

}  // namespace

TEST(SignalMessage, SealedMessageOpensForItsRecipient) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    auto sealed = seal_signal(alice, bob.public_key(), SignalType::connect_back, as_bytes("dial me"), t0);
    ASSERT_TRUE(sealed) << sealed.error().to_string();
    auto opened = open_signal(bob, *sealed);
    ASSERT_TRUE(opened) << opened.error().to_string();
    EXPECT_EQ(opened->type, SignalType::connect_back);
    EXPECT_EQ(opened->sender, alice.public_key());
    EXPECT_EQ(opened->recipient, crypto::node_id(bob.public_key()));
    EXPECT_EQ(opened->timestamp_ms, to_unix_ms(t0));
    EXPECT_EQ(as_chars(opened->payload), "dial me");
}

TEST(SignalMessage, EnvelopeRoundTripsExactly) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    auto envelope = encode_envelope(message_from(alice, bob), alice);
    auto decoded = decode_envelope(envelope);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(encode_envelope(*decoded, alice).size(), envelope.size());
    EXPECT_EQ(decoded->nonce, message_from(alice, bob).nonce);
}

TEST(SignalMessage, ForgedSignatureIsRejected) {
    auto alice = crypto::IdentityKey::generate();
    auto mallory = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    // Mallory claims to be Alice but can only sign with her own key.
    auto sealed = seal_envelope(bob.public_key(), encode_envelope(message_from(alice, bob), mallory));
    ASSERT_TRUE(sealed);
    auto opened = open_signal(bob, *sealed);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::auth_failed);
    EXPECT_NE(opened.error().message.find("signature"), std::string::npos) << opened.error().message;
}

TEST(SignalMessage, TamperedCiphertextIsRejected) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    auto sealed = *seal_signal(alice, bob.public_key(), SignalType::text, pattern(100), t0);
    for (std::size_t at : {std::size_t(40), sealed.size() / 2, sealed.size() - 1}) {
        auto bad = sealed;
        bad[at] ^= 0x01;
        auto opened = open_signal(bob, bad);
        ASSERT_FALSE(opened) << "flipped byte " << at;
        EXPECT_EQ(opened.error().code, Errc::auth_failed);
    }
}

TEST(SignalMessage, WrongRecipientIsRejected) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    auto carol = crypto::IdentityKey::generate();
    auto for_carol = *seal_signal(alice, carol.public_key(), SignalType::text, pattern(5), t0);
    EXPECT_EQ(open_signal(bob, for_carol).error().code, Errc::auth_failed);
    // Sealed to Bob, but the signed envelope names Carol: Bob must not act on it.
    auto readdressed = *seal_envelope(bob.public_key(), encode_envelope(message_from(alice, carol), alice));
    auto opened = open_signal(bob, readdressed);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("addressed to node"), std::string::npos) << opened.error().message;
}

TEST(SignalMessage, MalformedEnvelopesAreRejected) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    auto good = encode_envelope(message_from(alice, bob), alice);
    EXPECT_EQ(decode_envelope(ByteView(good).first(10)).error().code, Errc::malformed);
    auto bad_version = good;
    bad_version[0] = 9;
    EXPECT_EQ(decode_envelope(bad_version).error().code, Errc::unsupported);
    auto bad_type = good;
    bad_type[1] = 0;
    EXPECT_EQ(decode_envelope(bad_type).error().code, Errc::malformed);
}

TEST(ReplayGuard, RejectsSeenNonceStaleAndFuture) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    ReplayGuard guard(60s);
    auto m = message_from(alice, bob);
    EXPECT_TRUE(guard.check(m, t0 + 5s));
    auto again = guard.check(m, t0 + 6s);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::replayed);
    EXPECT_NE(again.error().message.find("nonce"), std::string::npos);

    auto other = m;
    other.nonce.fill(0x43);
    auto stale = guard.check(other, t0 + 61s);
    ASSERT_FALSE(stale);
    EXPECT_NE(stale.error().message.find("stale"), std::string::npos) << stale.error().message;
    auto future = guard.check(other, t0 - 61s);
    ASSERT_FALSE(future);
    EXPECT_NE(future.error().message.find("future"), std::string::npos) << future.error().message;
    EXPECT_TRUE(guard.check(other, t0 - 59s));
}

TEST(Chunks, LargeMessageSplitsAndReassemblesInAnyOrder) {
    auto sealed = pattern(100 * 1024 + 17);
    MessageId id{1, 2, 3, 4, 5, 6, 7, 8};
    auto chunks = split(sealed, id);
    ASSERT_TRUE(chunks);
    ASSERT_EQ(chunks->size(), 13u);
    for (auto& c : *chunks) EXPECT_LE(c.size(), chunk_header_size + chunk_data_size);
    std::mt19937 rng(7);
    std::shuffle(chunks->begin(), chunks->end(), rng);
    Reassembler r;
    auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < chunks->size(); ++i) {
        auto out = r.add((*chunks)[i], now);
        ASSERT_TRUE(out) << out.error().to_string();
        if (i + 1 < chunks->size()) {
            EXPECT_FALSE(*out);
            if (i > 0) EXPECT_FALSE(*r.add((*chunks)[i - 1], now)) << "a duplicate chunk completes nothing";
        } else {
            ASSERT_TRUE(*out);
            EXPECT_EQ(**out, sealed);
        }
    }
    EXPECT_EQ(r.pending(), 0u);
}

TEST(Chunks, RejectsMalformedChunksAndForgetsExpiredOnes) {
    Reassembler r(1s);
    auto now = std::chrono::steady_clock::now();
    auto chunks = *split(pattern(chunk_data_size + 1), MessageId{9});
    EXPECT_FALSE(r.add(ByteView(chunks[0]).first(5), now));
    auto bad_count = chunks[0];
    bad_count[12] = 0;
    EXPECT_FALSE(r.add(bad_count, now));
    auto bad_index = chunks[0];
    bad_index[10] = 5;
    EXPECT_FALSE(r.add(bad_index, now));
    EXPECT_FALSE(*r.add(chunks[0], now));
    EXPECT_EQ(r.pending(), 1u);
    EXPECT_FALSE(*r.add(chunks[1], now + 2s)) << "the first chunk expired";
    EXPECT_FALSE(split(pattern(max_sealed_size + 1), MessageId{}));
}

TEST(ConnectBack, RoundTripsAndRejectsGarbage) {
    traversal::ConnectBack request{{}, UDP, pattern(40)};
    request.con_id.fill(0x5a);
    auto decoded = traversal::decode_connect_back(traversal::encode_connect_back(request));
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(decoded->con_id, request.con_id);
    EXPECT_EQ(decoded->transport, UDP);
    EXPECT_EQ(decoded->caller_address, request.caller_address);
    EXPECT_FALSE(traversal::decode_connect_back(pattern(5)));
    auto bad_transport = traversal::encode_connect_back(request);
    bad_transport[17] = 7;
    EXPECT_FALSE(traversal::decode_connect_back(bad_transport));
}

TEST(SignalMessage, MatchesTheDocumentedTestVectors) {
    Bytes one(32, 0);
    one[31] = 1;
    auto key = crypto::IdentityKey::from_private_bytes(one);
    ASSERT_TRUE(key);
    SignalMessage m;
    m.type = SignalType::text;
    m.sender = key->public_key();
    m.recipient = "0123456789abcdef012345678";
    m.timestamp_ms = 1750000000000;
    m.nonce.fill(0x42);
    m.payload = Bytes{'h', 'i'};
    auto envelope = encode_envelope(m, *key);
    ASSERT_EQ(envelope.size(), 87u + crypto::signature_size);
    EXPECT_EQ(to_hex(ByteView(envelope).first(87)),
              "01010279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
              "30313233343536373839616263646566303132333435363738000001977420dc00"
              "42424242424242424242424242424242026869");
    EXPECT_TRUE(decode_envelope(envelope));
    auto chunks = split(Bytes(100 * 1024 + 17, 0), MessageId{1, 2, 3, 4, 5, 6, 7, 8});
    ASSERT_TRUE(chunks);
    EXPECT_EQ(to_hex(ByteView((*chunks)[0]).first(chunk_header_size)), "0101020304050607080000000d");
}

TEST(ReplayGuard, WhenFullRefusesNewMessagesInsteadOfForgettingFreshNonces) {
    auto alice = crypto::IdentityKey::generate();
    auto bob = crypto::IdentityKey::generate();
    ReplayGuard guard(60s);
    auto m = message_from(alice, bob);
    auto with_nonce = [&](std::uint32_t n) {
        auto copy = m;
        for (int i = 0; i < 4; ++i) copy.nonce[i] = static_cast<std::uint8_t>(n >> (8 * i));
        return copy;
    };
    for (std::uint32_t n = 0; n < ReplayGuard::max_nonces; ++n) ASSERT_TRUE(guard.check(with_nonce(n), t0 + 1s)) << n;
    EXPECT_EQ(guard.remembered(), ReplayGuard::max_nonces);

    auto refused = guard.check(with_nonce(ReplayGuard::max_nonces), t0 + 2s);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::refused);
    EXPECT_NE(refused.error().message.find("full"), std::string::npos) << refused.error().message;
    auto replay = guard.check(with_nonce(0), t0 + 2s);
    ASSERT_FALSE(replay) << "the oldest nonce was not evicted to make room";
    EXPECT_EQ(replay.error().code, Errc::replayed);

    // Once the stored timestamps leave the window, the table empties and new messages pass.
    auto later = m;
    later.timestamp_ms += 61'000;
    later.nonce.fill(0xEE);
    EXPECT_TRUE(guard.check(later, t0 + 62s));
    EXPECT_EQ(guard.remembered(), 1u);
}
