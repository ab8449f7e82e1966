#include <gtest/gtest.h>

#include "crypto/handshake.hpp"
#include "session/record.hpp"

using namespace warpgate;
using namespace warpgate::session;

namespace {

Hello sample_hello(bool secure) {
    Hello h;
    h.sender = 0x01020304;
    h.con_id[0] = 0xAA;
    h.con_id[15] = 0x55;
    h.secure = secure;
    if (secure) h.handshake = Bytes(crypto::hello_size, 0x11);
    return h;
}

}  // namespace

TEST(Record, HelloRoundTripsAndIsBoundedInSize) {
    for (bool secure : {true, false}) {
        auto bytes = encode_hello(sample_hello(secure));
        EXPECT_EQ(bytes[0], 0xD1);
        EXPECT_LE(bytes.size(), max_introduction_record);
        auto back = decode_hello(bytes);
        ASSERT_TRUE(back) << back.error().message;
        EXPECT_EQ(back->sender, 0x01020304u);
        EXPECT_EQ(back->con_id, sample_hello(secure).con_id);
        EXPECT_EQ(back->secure, secure);
        EXPECT_EQ(back->handshake, sample_hello(secure).handshake);
    }
    EXPECT_EQ(encode_hello(sample_hello(true)).size(), 3u + 4 + 16 + crypto::hello_size);
}

TEST(Record, HelloRejectsEveryMalformation) {
    auto good = encode_hello(sample_hello(true));
    auto truncated = good;
    truncated.pop_back();
    EXPECT_EQ(decode_hello(truncated).error().code, Errc::malformed);
    auto extra = good;
    extra.push_back(0);
    EXPECT_FALSE(decode_hello(extra));
    auto version = good;
    version[1] = 2;
    EXPECT_EQ(decode_hello(version).error().code, Errc::unsupported);
    auto flags = good;
    flags[2] = 0x03;
    EXPECT_FALSE(decode_hello(flags));
    auto zero_id = good;
    std::fill(zero_id.begin() + 3, zero_id.begin() + 7, 0);
    EXPECT_FALSE(decode_hello(zero_id));
    auto plain_with_handshake = encode_hello(sample_hello(false));
    plain_with_handshake.push_back(1);
    EXPECT_FALSE(decode_hello(plain_with_handshake));
    EXPECT_FALSE(decode_hello(Bytes{}));
    EXPECT_FALSE(decode_hello(Bytes{0xD1}));
}

TEST(Record, ReplyAndRefuseRoundTrip) {
    Reply r{7, 9, true, Bytes(crypto::reply_size, 3)};
    auto bytes = encode_reply(r);
    auto back = decode_reply(bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->receiver, 7u);
    EXPECT_EQ(back->sender, 9u);
    EXPECT_EQ(receiver_of(bytes), 7u);
    bytes.pop_back();
    EXPECT_FALSE(decode_reply(bytes));

    auto refuse = encode_refuse({5, "encryption required"});
    auto parsed = decode_refuse(refuse);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->reason, "encryption required");
    EXPECT_EQ(receiver_of(refuse), 5u);
    auto noisy = refuse;
    noisy.back() = 0x07;  // control characters never reach a terminal
    EXPECT_EQ(decode_refuse(noisy)->reason.back(), '?');
    EXPECT_FALSE(decode_refuse(Bytes{0xD5, 0, 0, 0, 5}));  // no reason
}

TEST(Record, InnerKindsAreChecked) {
    auto plain = encode_plain(3, Kind::data, as_bytes(std::string_view("hi")));
    EXPECT_EQ(receiver_of(plain), 3u);
    auto inner = decode_inner(ByteView(plain).subspan(sealed_prefix));
    ASSERT_TRUE(inner);
    EXPECT_EQ(inner->kind, Kind::data);
    EXPECT_EQ(inner->body.size(), 2u);
    EXPECT_FALSE(decode_inner(Bytes{}));
    EXPECT_FALSE(decode_inner(Bytes{99}));
    EXPECT_FALSE(decode_inner(Bytes{static_cast<std::uint8_t>(Kind::ping), 1, 2}));        // 8-byte nonce only
    EXPECT_FALSE(decode_inner(Bytes{static_cast<std::uint8_t>(Kind::keepalive), 1}));      // no body
    EXPECT_TRUE(decode_inner(Bytes{static_cast<std::uint8_t>(Kind::confirm)}));
    EXPECT_FALSE(decode_inner(Bytes{static_cast<std::uint8_t>(Kind::ack), 1, 2, 3}));  // u64 counter only
    EXPECT_TRUE(decode_inner(Bytes{static_cast<std::uint8_t>(Kind::join), 0, 0, 0, 0, 0, 0, 0, 9}));
    EXPECT_FALSE(decode_inner(Bytes{static_cast<std::uint8_t>(max_kind + 1)}));
    EXPECT_FALSE(receiver_of(Bytes{0xD3, 0, 0, 0, 0}));  // id 0 names nobody
    EXPECT_FALSE(receiver_of(encode_hello(sample_hello(false))));
    EXPECT_FALSE(receiver_of(Bytes{0x00, 0x01, 0, 0, 0, 1}));  // STUN, not ours
}

TEST(Record, FirstBytesAvoidRfc7983Ranges) {
    for (int b = 0; b < 256; ++b) {
        bool ours = is_record(static_cast<std::uint8_t>(b));
        bool taken = b <= 3 || (b >= 16 && b <= 19) || (b >= 20 && b <= 63) || (b >= 64 && b <= 127) || (b >= 128 && b <= 191);
        EXPECT_FALSE(ours && taken) << "first byte " << b;
    }
}

TEST(Record, BodyLayoutSaysWhereTheBodyLies) {
    // plain: D4 | receiver (4) | kind | body
    auto plain = body_layout(static_cast<std::uint8_t>(RecordType::plain));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->head, 6u);
    EXPECT_EQ(plain->tail, 0u);
    auto record = encode_plain(3, Kind::data, as_bytes(std::string_view("body")));
    EXPECT_EQ(as_chars(ByteView(record).subspan(plain->head)), "body");
    // sealed: D3 | receiver (4) | counter (8) | kind | body | tag (16)
    auto sealed = body_layout(static_cast<std::uint8_t>(RecordType::sealed));
    ASSERT_TRUE(sealed);
    EXPECT_EQ(sealed->head, 14u);
    EXPECT_EQ(sealed->tail, 16u);
    EXPECT_EQ(sealed->head, max_body_head);
    for (auto type : {RecordType::hello, RecordType::reply, RecordType::refuse, RecordType::punch})
        EXPECT_FALSE(body_layout(static_cast<std::uint8_t>(type)));
    EXPECT_FALSE(body_layout(0x00));
}

TEST(Record, LengthPrefixIsBounded) {
    auto prefix = encode_length(1000);
    EXPECT_EQ(*decode_length(prefix, 1000), 1000u);
    EXPECT_FALSE(decode_length(prefix, 999));
    auto zero = encode_length(0);
    EXPECT_FALSE(decode_length(zero, 1000));
}
