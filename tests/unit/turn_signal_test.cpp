// The turn plugin's signal messages: every kind round trips with its layout, and malformed
// input is refused with where and why.
#include <gtest/gtest.h>

#include "traversal/turn_signal.hpp"

using namespace warpgate;
using namespace warpgate::traversal;

namespace {

TurnMessage base(TurnKind kind) {
    TurnMessage m;
    m.kind = kind;
    for (std::size_t i = 0; i < m.con_id.size(); ++i) m.con_id[i] = static_cast<std::uint8_t>(i + 1);
    return m;
}

TurnMessage offer() {
    auto m = base(TurnKind::offer);
    m.relayed = {asio::ip::make_address("198.51.100.100"), 49152};
    m.caller_address = {0x02, 0x21, 0x03};
    return m;
}

std::string error_of(const Bytes& bytes) {
    auto m = decode_turn(bytes);
    return m ? std::string("accepted") : m.error().message;
}

}  // namespace

TEST(TurnSignal, OfferRoundTripsWithItsLayout) {
    auto bytes = encode_turn(offer());
    ASSERT_EQ(bytes.size(), 18u + 1 + 4 + 2 + 3);
    EXPECT_EQ(bytes[0], 1);     // version
    EXPECT_EQ(bytes[1], 1);     // offer
    EXPECT_EQ(bytes[2], 1);     // connection id
    EXPECT_EQ(bytes[18], 4);    // family
    EXPECT_EQ(bytes[19], 198);  // relayed IP
    EXPECT_EQ(bytes[23], 0xC0);  // port 49152, big-endian
    EXPECT_EQ(bytes[24], 0x00);
    auto m = decode_turn(bytes);
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->kind, TurnKind::offer);
    EXPECT_EQ(m->con_id, offer().con_id);
    EXPECT_EQ(m->relayed, offer().relayed);
    EXPECT_EQ(m->caller_address, offer().caller_address);
    EXPECT_EQ(encode_turn(*m), bytes);
}

// A tcp offer has the offer's layout; its address is the initiator's as TURN sees it.
TEST(TurnSignal, TcpOfferRoundTripsWithTheOffersLayout) {
    auto tcp_offer = offer();
    tcp_offer.kind = TurnKind::tcp_offer;
    auto bytes = encode_turn(tcp_offer);
    auto plain = encode_turn(offer());
    ASSERT_EQ(bytes.size(), plain.size());
    EXPECT_EQ(bytes[1], 4);  // tcp offer
    EXPECT_TRUE(std::equal(bytes.begin() + 2, bytes.end(), plain.begin() + 2));
    auto m = decode_turn(bytes);
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->kind, TurnKind::tcp_offer);
    EXPECT_EQ(m->relayed, tcp_offer.relayed);
    EXPECT_EQ(m->caller_address, tcp_offer.caller_address);
    EXPECT_EQ(encode_turn(*m), bytes);
}

TEST(TurnSignal, AnswerOverIPv6AndDeclineRoundTrip) {
    auto answer = base(TurnKind::answer);
    answer.relayed = {asio::ip::make_address("2001:db8::7"), 50000};
    auto bytes = encode_turn(answer);
    EXPECT_EQ(bytes.size(), 18u + 1 + 16 + 2);
    auto a = decode_turn(bytes);
    ASSERT_TRUE(a) << a.error().to_string();
    EXPECT_EQ(a->relayed, answer.relayed);
    EXPECT_TRUE(a->caller_address.empty());

    auto decline = base(TurnKind::decline);
    decline.reason = "no TURN allocation; 198.51.100.100:3478 over udp: refused";
    auto d = decode_turn(encode_turn(decline));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->reason, decline.reason);
    EXPECT_EQ(decode_turn(encode_turn(base(TurnKind::decline)))->reason, "declined");
    decline.reason = std::string(500, 'x');
    EXPECT_EQ(decode_turn(encode_turn(decline))->reason.size(), TurnMessage::max_reason);
}

TEST(TurnSignal, MalformedInputIsRefused) {
    auto good = encode_turn(offer());
    EXPECT_EQ(error_of({}), "turn message: version truncated: needs 1 bytes, 0 left (at byte 0)");

    auto version = good;
    version[0] = 2;
    auto v = decode_turn(version);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, Errc::unsupported);

    auto kind = good;
    kind[1] = 5;
    EXPECT_EQ(error_of(kind), "turn message: unknown kind 5 (at byte 1)");
    kind[1] = 0;
    EXPECT_EQ(error_of(kind), "turn message: unknown kind 0 (at byte 1)");

    EXPECT_NE(error_of(Bytes(good.begin(), good.begin() + 10)).find("connection id truncated"), std::string::npos);

    auto family = good;
    family[18] = 5;
    EXPECT_EQ(error_of(family), "turn message: unknown family 5 (at byte 18)");

    auto port0 = offer();
    port0.relayed.port = 0;
    EXPECT_EQ(error_of(encode_turn(port0)), "turn message: relayed port 0 (at byte 23)");
    auto unspecified = offer();
    unspecified.relayed.ip = asio::ip::make_address("0.0.0.0");
    EXPECT_EQ(error_of(encode_turn(unspecified)), "turn message: relayed address 0.0.0.0 is not a unicast address (at byte 18)");
    auto multicast = offer();
    multicast.relayed.ip = asio::ip::make_address("ff02::1");
    EXPECT_NE(error_of(encode_turn(multicast)).find("not a unicast address"), std::string::npos);

    auto no_address = offer();
    no_address.caller_address.clear();
    EXPECT_EQ(error_of(encode_turn(no_address)), "turn message: an offer without the initiator's address (at byte 25)");
    no_address.kind = TurnKind::tcp_offer;
    EXPECT_EQ(error_of(encode_turn(no_address)), "turn message: an offer without the initiator's address (at byte 25)");

    auto answer = offer();
    answer.kind = TurnKind::answer;
    auto long_answer = encode_turn(answer);
    long_answer.push_back(0);
    EXPECT_NE(error_of(long_answer).find("1 trailing byte(s)"), std::string::npos) << error_of(long_answer);
    EXPECT_NE(error_of(Bytes(long_answer.begin(), long_answer.end() - 2)).find("relayed port truncated"), std::string::npos);

    auto empty_reason = encode_turn(base(TurnKind::decline));
    empty_reason.resize(18);
    EXPECT_EQ(error_of(empty_reason), "turn message: a reason of 0 bytes (1 to 200) (at byte 18)");
    auto long_reason = empty_reason;
    long_reason.resize(18 + 201, 'x');
    EXPECT_EQ(error_of(long_reason), "turn message: a reason of 201 bytes (1 to 200) (at byte 18)");
}

// What the fuzz target checks, on every prefix and byte flip of the seeds: whatever decodes
// encodes back to the same bytes.
TEST(TurnSignal, EncodingIsCanonical) {
    auto answer = base(TurnKind::answer);
    answer.relayed = {asio::ip::make_address("::ffff:198.51.100.100"), 1};
    auto decline = base(TurnKind::decline);
    decline.reason = "busy";
    auto tcp_offer = offer();
    tcp_offer.kind = TurnKind::tcp_offer;
    for (auto& seed : {encode_turn(offer()), encode_turn(answer), encode_turn(decline), encode_turn(tcp_offer)}) {
        for (std::size_t n = 0; n <= seed.size(); ++n) {
            Bytes prefix(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(n));
            if (auto m = decode_turn(prefix)) EXPECT_EQ(encode_turn(*m), prefix);
            for (std::size_t i = 0; i < n; ++i)
                for (std::uint8_t flip : {0x01, 0x80, 0xFF}) {
                    auto mutated = prefix;
                    mutated[i] ^= flip;
                    if (auto m = decode_turn(mutated)) EXPECT_EQ(encode_turn(*m), mutated);
                }
        }
    }
}
