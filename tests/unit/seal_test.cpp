#include <gtest/gtest.h>

#include "crypto/seal.hpp"
#include "support/crypto_vectors.hpp"

using namespace warpgate;
using namespace warpgate::crypto;

TEST(Seal, RoundTripsWithAad) {
    IdentityKey bob = IdentityKey::generate();
    for (std::string_view text : {"", "x", "an SDP-like offer with candidates"}) {
        auto box = seal(bob.public_key(), as_bytes(text), as_bytes("topic/bob"));
        ASSERT_TRUE(box);
        EXPECT_EQ(box->size(), text.size() + seal_overhead);
        EXPECT_EQ((*box)[0], seal_version);
        auto opened = open(bob, *box, as_bytes("topic/bob"));
        ASSERT_TRUE(opened) << opened.error().to_string();
        EXPECT_EQ(as_chars(*opened), text);
    }
}

TEST(Seal, EachBoxIsFresh) {
    IdentityKey bob = IdentityKey::generate();
    EXPECT_NE(*seal(bob.public_key(), as_bytes("same"), {}), *seal(bob.public_key(), as_bytes("same"), {}));
}

TEST(Seal, OpensABoxFromAnIndependentImplementation) {
    auto bob = IdentityKey::from_private_bytes(test::vectors::scalar_of(test::vectors::responder_identity));
    auto opened = open(*bob, from_hex(test::vectors::sealed_offer), as_bytes("signal"));
    ASSERT_TRUE(opened) << opened.error().to_string();
    EXPECT_EQ(as_chars(*opened), "offer");
}

TEST(Seal, RejectsTamperingWrongRecipientAndWrongAad) {
    IdentityKey bob = IdentityKey::generate();
    Bytes box = *seal(bob.public_key(), as_bytes("meet at 10.0.0.1:4000"), as_bytes("aad"));
    EXPECT_EQ(open(IdentityKey::generate(), box, as_bytes("aad")).error().code, Errc::auth_failed);
    EXPECT_EQ(open(bob, box, as_bytes("aae")).error().code, Errc::auth_failed);
    EXPECT_EQ(open(bob, box, {}).error().code, Errc::auth_failed);
    for (std::size_t i = 0; i < box.size(); ++i) {
        Bytes tampered = box;
        tampered[i] ^= 0x01;
        auto opened = open(bob, tampered, as_bytes("aad"));
        ASSERT_FALSE(opened) << "byte " << i;
        // The version byte and the ephemeral key can break the format; the rest fails the tag.
        Errc code = opened.error().code;
        if (i == 0)
            EXPECT_EQ(code, Errc::unsupported);
        else if (i <= public_key_size)
            EXPECT_TRUE(code == Errc::malformed || code == Errc::auth_failed) << "byte " << i;
        else
            EXPECT_EQ(code, Errc::auth_failed) << "byte " << i;
    }
}

TEST(Seal, RejectsBadSizesAndKeys) {
    IdentityKey bob = IdentityKey::generate();
    Bytes box = *seal(bob.public_key(), as_bytes("hi"), {});
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, seal_overhead - 1}) {
        auto opened = open(bob, ByteView(box).first(size), {});
        ASSERT_FALSE(opened);
        EXPECT_EQ(opened.error().code, Errc::malformed) << size;
    }
    EXPECT_EQ(open(bob, ByteView(box).first(box.size() - 1), {}).error().code, Errc::auth_failed);
    Bytes off_curve(33, 0);
    off_curve[0] = 0x02;
    for (const Bytes& key : {Bytes{}, Bytes(33, 0x04), off_curve})
        EXPECT_EQ(seal(key, as_bytes("hi"), {}).error().code, Errc::malformed);
}
