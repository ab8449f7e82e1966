#include <gtest/gtest.h>

#include "crypto/secure_channel.hpp"
#include "support/crypto_vectors.hpp"

using namespace warpgate;
using namespace warpgate::crypto;
namespace vectors = warpgate::test::vectors;

namespace {

AeadKey key_of(std::string_view hex) {
    AeadKey key{};
    Bytes bytes = from_hex(hex);
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return key;
}

// Both ends of a link after a handshake with the vector keys.
struct Link {
    explicit Link(ChannelMode mode)
        : initiator({{}, "", key_of(vectors::key_initiator_to_responder), key_of(vectors::key_responder_to_initiator), {}},
                    mode),
          responder({{}, "", key_of(vectors::key_responder_to_initiator), key_of(vectors::key_initiator_to_responder), {}},
                    mode) {}
    SecureChannel initiator;
    SecureChannel responder;
};

std::string text(const Result<Bytes>& r) { return r ? std::string(as_chars(*r)) : "error: " + r.error().message; }

}  // namespace

TEST(SecureChannel, RecordsMatchTheTestVectors) {
    Link link(ChannelMode::stream);
    EXPECT_EQ(to_hex(link.initiator.seal(as_bytes("hello, warpgate"))), vectors::record_i2r_0);
    EXPECT_EQ(to_hex(link.initiator.seal({})), vectors::record_i2r_1);
    EXPECT_EQ(to_hex(link.responder.seal(as_bytes("hi"))), vectors::record_r2i_0);
    EXPECT_EQ(text(link.responder.open(from_hex(vectors::record_i2r_0))), "hello, warpgate");
    EXPECT_EQ(text(link.responder.open(from_hex(vectors::record_i2r_1))), "");
    EXPECT_EQ(text(link.initiator.open(from_hex(vectors::record_r2i_0))), "hi");
}

TEST(SecureChannel, StreamCarriesManyRecordsBothWays) {
    Link link(ChannelMode::stream);
    for (int i = 0; i < 100; ++i) {
        std::string message(static_cast<std::size_t>(i * 37), static_cast<char>('a' + i % 26));
        EXPECT_EQ(text(link.responder.open(link.initiator.seal(as_bytes(message)))), message);
        EXPECT_EQ(text(link.initiator.open(link.responder.seal(as_bytes(message)))), message);
    }
}

TEST(SecureChannel, SealIntoAndOpenIntoUseCallerBuffers) {
    Link link(ChannelMode::stream);
    std::array<std::uint8_t, 64> record{}, plain{};
    std::size_t size = link.initiator.seal_into(as_bytes("in place"), record);
    EXPECT_EQ(size, 8 + SecureChannel::overhead);
    EXPECT_THROW(link.initiator.seal_into(as_bytes("in place"), std::span(record).first(size - 1)), std::length_error);
    auto too_small = link.responder.open_into(ByteView(record).first(size), std::span(plain).first(7));
    EXPECT_EQ(too_small.error().code, Errc::malformed);
    auto opened = link.responder.open_into(ByteView(record).first(size), plain);
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(as_chars(ByteView(plain).first(*opened)), "in place");
}

TEST(SecureChannel, OwnRecordsDoNotOpenOnTheSameSide) {
    Link link(ChannelMode::datagram);
    EXPECT_EQ(link.initiator.open(link.initiator.seal(as_bytes("reflected"))).error().code, Errc::auth_failed);
}

TEST(SecureChannel, StreamRejectsEveryTamperedByteAndThenStaysClosed) {
    for (std::size_t i = 0; i < 8 + 5 + 16; ++i) {
        Link link(ChannelMode::stream);
        Bytes record = link.initiator.seal(as_bytes("12345"));
        record[i] ^= 0x01;
        auto opened = link.responder.open(record);
        ASSERT_FALSE(opened) << "byte " << i;
        // A changed counter reads as replay or a gap; any other change fails the tag.
        Errc code = opened.error().code;
        EXPECT_TRUE(code == Errc::auth_failed || (i < 8 && code == Errc::replayed)) << "byte " << i;
        record[i] ^= 0x01;
        EXPECT_EQ(link.responder.open(record).error().code, Errc::closed) << "byte " << i;
    }
}

TEST(SecureChannel, StreamRejectsReplay) {
    Link link(ChannelMode::stream);
    Bytes first = link.initiator.seal(as_bytes("pay 10"));
    ASSERT_TRUE(link.responder.open(first));
    auto again = link.responder.open(first);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::replayed);
    EXPECT_NE(again.error().message.find("#0"), std::string::npos) << again.error().message;
}

TEST(SecureChannel, StreamRejectsReorderingAndDrops) {
    Link link(ChannelMode::stream);
    Bytes first = link.initiator.seal(as_bytes("one"));
    Bytes second = link.initiator.seal(as_bytes("two"));
    auto opened = link.responder.open(second);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::auth_failed);
    EXPECT_NE(opened.error().message.find("dropped or reordered"), std::string::npos);
    EXPECT_EQ(link.responder.open(first).error().code, Errc::closed);
}

TEST(SecureChannel, StreamRejectsTruncation) {
    constexpr std::string_view message = "a longer message that gets cut";
    constexpr std::size_t full = message.size() + SecureChannel::overhead;
    for (std::size_t size : {full - 1, full - 16, SecureChannel::overhead, std::size_t{8}, std::size_t{0}}) {
        Link link(ChannelMode::stream);
        Bytes record = link.initiator.seal(as_bytes(message));
        auto opened = link.responder.open(ByteView(record).first(size));
        ASSERT_FALSE(opened) << size;
        EXPECT_EQ(opened.error().code, Errc::auth_failed) << size;
    }
}

TEST(SecureChannel, OpensInPlace) {
    Link link(ChannelMode::stream);
    Bytes record = link.initiator.seal(as_bytes("decrypted where it lies"));
    auto plain = link.responder.open_in_place(record);
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_EQ(as_chars(*plain), "decrypted where it lies");
    EXPECT_EQ(plain->data(), record.data() + SecureChannel::header_size);
    Bytes tampered = link.initiator.seal(as_bytes("x"));
    tampered[9] ^= 1;
    EXPECT_EQ(link.responder.open_in_place(tampered).error().code, Errc::auth_failed);
    Bytes short_record(5);
    EXPECT_EQ(link.responder.open_in_place(short_record).error().code, Errc::closed);
    Link fresh(ChannelMode::stream);
    EXPECT_EQ(fresh.responder.open_in_place(short_record).error().code, Errc::auth_failed);
}

TEST(SecureChannel, OpensInPiecesWhereTheyLie) {
    // A record as a stream reader keeps a large one: counter, kind byte, body, tag apart.
    Link link(ChannelMode::stream);
    const std::uint8_t kind = 0;
    Bytes body(5000);
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<std::uint8_t>(i * 13);
    auto pieces_of = [&](const Bytes& record) {
        struct Pieces {
            Bytes counter, kind, body, tag;
        } p{Bytes(record.begin(), record.begin() + 8), Bytes(record.begin() + 8, record.begin() + 9),
            Bytes(record.begin() + 9, record.end() - 16), Bytes(record.end() - 16, record.end())};
        return p;
    };
    for (int round = 0; round < 2; ++round) {
        Bytes record(body.size() + 1 + SecureChannel::overhead);
        link.initiator.seal_into({ByteView(&kind, 1), body}, record);
        auto p = pieces_of(record);
        auto* where = p.body.data();
        auto opened = link.responder.open_in_place(p.counter, {std::span(p.kind), std::span(p.body)}, p.tag);
        ASSERT_TRUE(opened) << opened.error().message;
        EXPECT_EQ(*opened, body.size() + 1);
        EXPECT_EQ(p.kind[0], kind);
        EXPECT_EQ(p.body, body);
        EXPECT_EQ(p.body.data(), where);
    }
    // Any byte changed in any piece fails, and a stream then refuses everything.
    Bytes record(body.size() + 1 + SecureChannel::overhead);
    link.initiator.seal_into({ByteView(&kind, 1), body}, record);
    auto p = pieces_of(record);
    p.tag[3] ^= 1;
    EXPECT_EQ(link.responder.open_in_place(p.counter, {std::span(p.kind), std::span(p.body)}, p.tag).error().code, Errc::auth_failed);
    p = pieces_of(record);
    EXPECT_EQ(link.responder.open_in_place(p.counter, {std::span(p.kind), std::span(p.body)}, p.tag).error().code, Errc::closed);
    Link fresh(ChannelMode::stream);
    Bytes first(body.size() + 1 + SecureChannel::overhead);
    fresh.initiator.seal_into({ByteView(&kind, 1), body}, first);
    p = pieces_of(first);
    p.body[4321] ^= 0x80;
    EXPECT_EQ(fresh.responder.open_in_place(p.counter, {std::span(p.kind), std::span(p.body)}, p.tag).error().code, Errc::auth_failed);
}

TEST(SecureChannel, DatagramAcceptsLossAndReordering) {
    Link link(ChannelMode::datagram);
    std::vector<Bytes> sent;
    for (int i = 0; i < 10; ++i) sent.push_back(link.initiator.seal(as_bytes(std::to_string(i))));
    for (int i : {3, 1, 0, 9, 7, 2}) EXPECT_EQ(text(link.responder.open(sent[i])), std::to_string(i)) << i;
}

TEST(SecureChannel, DatagramRejectsDuplicatesAndStaleRecordsButKeepsWorking) {
    Link link(ChannelMode::datagram);
    Bytes zero = link.initiator.seal(as_bytes("zero"));
    ASSERT_TRUE(link.responder.open(zero));
    auto duplicate = link.responder.open(zero);
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().code, Errc::replayed);

    Bytes old = link.initiator.seal(as_bytes("old"));  // #1, held back past the window
    Bytes latest;
    for (std::uint64_t i = 0; i < ReplayWindow::size; ++i) latest = link.initiator.seal(as_bytes("x"));
    ASSERT_TRUE(link.responder.open(latest));  // #1025
    auto stale = link.responder.open(old);
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, Errc::replayed);
    EXPECT_NE(stale.error().message.find("window"), std::string::npos);

    Bytes tampered = link.initiator.seal(as_bytes("tampered"));
    tampered.back() ^= 1;
    EXPECT_EQ(link.responder.open(tampered).error().code, Errc::auth_failed);
    tampered.back() ^= 1;
    EXPECT_EQ(text(link.responder.open(tampered)), "tampered");  // the forgery did not burn the counter
    EXPECT_EQ(text(link.responder.open(link.initiator.seal(as_bytes("after")))), "after");
}

TEST(ReplayWindow, BoundariesOfTheWindow) {
    ReplayWindow window;
    EXPECT_EQ(window.check(0), ReplayWindow::Verdict::fresh);
    window.accept(2000);
    EXPECT_EQ(window.check(2000), ReplayWindow::Verdict::duplicate);
    EXPECT_EQ(window.check(2000 - ReplayWindow::size + 1), ReplayWindow::Verdict::fresh);
    EXPECT_EQ(window.check(2000 - ReplayWindow::size), ReplayWindow::Verdict::too_old);
    EXPECT_EQ(window.check(2001), ReplayWindow::Verdict::fresh);
    window.accept(1999);
    window.accept(2000 + 5);
    EXPECT_EQ(window.check(1999), ReplayWindow::Verdict::duplicate);
    EXPECT_EQ(window.check(2002), ReplayWindow::Verdict::fresh);
    // A jump past the whole window forgets everything older, including reused bit slots.
    window.accept(2005 + ReplayWindow::size);
    EXPECT_EQ(window.check(2005), ReplayWindow::Verdict::too_old);
    EXPECT_EQ(window.check(2006), ReplayWindow::Verdict::fresh);
    EXPECT_EQ(window.check(2005 + ReplayWindow::size), ReplayWindow::Verdict::duplicate);
}
