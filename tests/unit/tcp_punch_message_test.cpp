// tcp_punch's signal messages: every kind round trips, and malformed input is refused with
// where and why.
#include <gtest/gtest.h>

#include "traversal/tcp_punch_message.hpp"

using namespace warpgate;
using namespace warpgate::traversal;
using namespace std::chrono_literals;

namespace {

PunchMessage base(PunchKind kind) {
    PunchMessage m;
    m.kind = kind;
    for (std::size_t i = 0; i < m.con_id.size(); ++i) m.con_id[i] = static_cast<std::uint8_t>(i + 1);
    for (std::size_t i = 0; i < m.nonce.size(); ++i) m.nonce[i] = static_cast<std::uint8_t>(0xA0 + i);
    return m;
}

PunchMessage offer() {
    auto m = base(PunchKind::offer);
    m.ip = asio::ip::make_address("198.51.100.2");
    m.ports = {20001, 20002, 20003};
    m.clock = {1500us, true};
    m.caller_address = {0x02, 0x21, 0x03};
    return m;
}

}  // namespace

TEST(TcpPunchMessage, OfferRoundTripsWithItsLayout) {
    auto bytes = encode_punch(offer());
    ASSERT_EQ(bytes.size(), 26u + 1 + 4 + 1 + 4 + 1 + 3 * 2 + 3);
    EXPECT_EQ(bytes[0], 1);   // version
    EXPECT_EQ(bytes[1], 1);   // offer
    EXPECT_EQ(bytes[26], 4);  // family
    EXPECT_EQ(bytes[31], 1);  // synced
    auto m = decode_punch(bytes);
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->kind, PunchKind::offer);
    EXPECT_EQ(m->con_id, offer().con_id);
    EXPECT_EQ(m->nonce, offer().nonce);
    EXPECT_EQ(m->ip, offer().ip);
    EXPECT_EQ(m->ports, offer().ports);
    EXPECT_EQ(m->clock.uncertainty, 1500us);
    EXPECT_TRUE(m->clock.synced);
    EXPECT_EQ(m->caller_address, offer().caller_address);
    EXPECT_EQ(encode_punch(*m), bytes);
}

TEST(TcpPunchMessage, AnswerOverIPv6GoAndDeclineRoundTrip) {
    auto answer = offer();
    answer.kind = PunchKind::answer;
    answer.ip = asio::ip::make_address("2001:db8::7");
    answer.clock = {0ns, false};
    answer.caller_address.clear();  // only an offer carries it
    auto a = decode_punch(encode_punch(answer));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->ip, answer.ip);
    EXPECT_FALSE(a->clock.synced);

    auto go = base(PunchKind::go);
    go.start = std::chrono::system_clock::time_point(std::chrono::microseconds(1'800'000'000'123'456));
    go.window = 1520ms;
    auto g = decode_punch(encode_punch(go));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->start, go.start);
    EXPECT_EQ(g->window, 1520ms);

    auto decline = base(PunchKind::decline);
    decline.reason = "the NAT allocates external ports at random";
    auto d = decode_punch(encode_punch(decline));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->reason, decline.reason);
    EXPECT_EQ(decode_punch(encode_punch(base(PunchKind::decline)))->reason, "declined");
}

TEST(TcpPunchMessage, MalformedInputIsRefused) {
    auto good = encode_punch(offer());
    auto with = [&](std::size_t at, std::uint8_t v) {
        auto b = good;
        b[at] = v;
        return decode_punch(b);
    };
    auto version = with(0, 2);
    ASSERT_FALSE(version);
    EXPECT_EQ(version.error().code, Errc::unsupported);
    EXPECT_FALSE(with(1, 5));        // kind
    EXPECT_FALSE(with(26, 5));       // family
    EXPECT_FALSE(with(31, 2));       // clock flags
    EXPECT_FALSE(with(36, 0));       // no ports
    EXPECT_FALSE(with(36, 9));       // too many ports
    auto zero = good;
    zero[37] = zero[38] = 0;
    auto port0 = decode_punch(zero);
    ASSERT_FALSE(port0);
    EXPECT_NE(port0.error().message.find("port 0"), std::string::npos) << port0.error().message;
    auto no_address = good;
    no_address.resize(no_address.size() - 3);
    EXPECT_FALSE(decode_punch(no_address));
    auto answer = offer();
    answer.kind = PunchKind::answer;
    auto answer_bytes = encode_punch(answer);
    answer_bytes.push_back(0);
    EXPECT_FALSE(decode_punch(answer_bytes));  // an answer carries no address
    EXPECT_FALSE(decode_punch(ByteView(answer_bytes.data(), answer_bytes.size() - 2)));
    EXPECT_FALSE(decode_punch(ByteView(good.data(), 26)));  // an offer of header only
    auto empty_reason = encode_punch(base(PunchKind::decline));
    empty_reason.resize(26);
    EXPECT_FALSE(decode_punch(empty_reason));
    auto far_start = encode_punch(base(PunchKind::go));
    far_start[26] = 0xFF;
    EXPECT_FALSE(decode_punch(far_start));
}
