// The NTP codec (RFC 5905 client mode) against hand-computed vectors, the reply checks one
// by one, the §8 arithmetic, and the SNTP client's median/outlier/uncertainty rule.
#include <gtest/gtest.h>

#include "node/clock.hpp"
#include "proto/ntp.hpp"
#include "proto/sntp_client.hpp"

using namespace warpgate;
using namespace warpgate::ntp;
using namespace std::chrono_literals;

namespace {

WallTime unix_time(std::int64_t seconds, std::int64_t ns = 0) { return WallTime(std::chrono::seconds(seconds) + Duration(ns)); }

// A valid server reply to `cookie`: version 4, stratum 2, sane timestamps.
Packet reply_to(Timestamp cookie) {
    Packet p;
    p.version = 4;
    p.mode = 4;
    p.stratum = 2;
    p.origin = cookie;
    p.receive = {0xED003780, 0};
    p.transmit = {0xED003780, 0x00100000};
    return p;
}

Bytes hex(std::string_view text) {
    std::string compact;
    for (char c : text)
        if (c != ' ') compact.push_back(c);
    return from_hex(compact);
}

}  // namespace

TEST(NtpTimestamp, HandComputedVectors) {
    // The Unix epoch is 2208988800 s after NTP's (1900).
    EXPECT_EQ(to_timestamp(unix_time(0)), (Timestamp{0x83AA7E80, 0}));
    // 2026-01-01 00:00:00.123456789 UTC: Unix 1767225600 = NTP 0xED003780; 0.123456789 s =
    // 530242871.3 / 2^32 -> 0x1F9ADD37.
    auto t = unix_time(1767225600, 123456789);
    EXPECT_EQ(to_timestamp(t), (Timestamp{0xED003780, 0x1F9ADD37}));
    EXPECT_EQ(from_timestamp({0xED003780, 0x1F9ADD37}, t + 1h), t);  // exact: 2^-32 s < 0.5 ns
    EXPECT_EQ(to_timestamp(unix_time(1, 500'000'000)).fraction, 0x80000000u);
    EXPECT_EQ(to_timestamp(unix_time(1, 1)).fraction, 4u);  // 1 ns = 4.29 fractions
    EXPECT_EQ(to_timestamp(unix_time(1, 999'999'999)).fraction, 0xFFFFFFFCu);  // rounds, never carries
}

TEST(NtpTimestamp, ErasResolveNearTheLocalClock) {
    // Era 1 begins 2036-02-07 06:28:16 UTC (Unix 2085978496): the seconds wrap to 0.
    auto rollover = unix_time(2085978496);
    EXPECT_EQ(to_timestamp(rollover), (Timestamp{0, 0}));
    EXPECT_EQ(from_timestamp({0, 0}, rollover - 10s), rollover);          // just before: era 1 ahead
    EXPECT_EQ(from_timestamp({0xFFFFFFFF, 0}, rollover + 10s), rollover - 1s);  // just after: era 0 behind
    auto t = unix_time(1767225600);
    EXPECT_EQ(from_timestamp(to_timestamp(t), t - std::chrono::hours(24 * 365 * 60)), t);  // 60 years away still resolves
}

TEST(NtpCodec, ClientRequestBytes) {
    auto bytes = encode_request({0x01020304, 0x05060708});
    // LI 0, VN 4, mode 3 = 00 100 011 = 0x23; everything but the transmit timestamp zero.
    EXPECT_EQ(to_hex(bytes), "23" + std::string(78, '0') + "0102030405060708");
    auto p = decode(bytes);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->mode, 3);
    EXPECT_EQ(p->version, 4);
    EXPECT_EQ(p->transmit, (Timestamp{0x01020304, 0x05060708}));
    EXPECT_TRUE(p->origin.is_zero());
}

TEST(NtpCodec, DecodesAServerReplyByHand) {
    // LI 0 VN 4 mode 4 (0x24), stratum 2, poll 6, precision -20 (0xEC), root delay 1/32 s,
    // root dispersion 1.5 s, reference id "GPS\0", then four timestamps.
    auto bytes = hex("24 02 06 EC  00000800  00018000  47505300"
                     "ED003700 00000000  01020304 05060708  ED003780 00000000  ED003780 80000000");
    auto p = decode(bytes);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->leap, 0);
    EXPECT_EQ(p->version, 4);
    EXPECT_EQ(p->mode, 4);
    EXPECT_EQ(p->stratum, 2);
    EXPECT_EQ(p->poll, 6);
    EXPECT_EQ(p->precision, -20);
    EXPECT_EQ(kiss_code(p->reference_id), "GPS");
    EXPECT_EQ(p->origin, (Timestamp{0x01020304, 0x05060708}));
    EXPECT_EQ(encode(*p), bytes);
    auto r = check_reply(*p, {0x01020304, 0x05060708});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->root_delay, 31'250'000ns);
    EXPECT_EQ(r->root_dispersion, 1'500'000'000ns);
    EXPECT_EQ(from_short(0x00000001), 15'259ns);  // 2^-16 s, rounded
}

TEST(NtpCodec, RejectsAnyOtherSize) {
    auto ok = encode(reply_to({1, 2}));
    for (std::size_t size : {0u, 1u, 47u, 49u, 52u, 68u, 72u}) {
        Bytes b = ok;
        b.resize(size, 0);
        auto p = decode(b);
        ASSERT_FALSE(p) << size;
        EXPECT_EQ(p.error().code, Errc::malformed);
        EXPECT_NE(p.error().message.find("expected exactly 48"), std::string::npos) << p.error().message;
    }
}

TEST(NtpReply, EachCheckWithItsReason) {
    Timestamp cookie{0xCAFEBABE, 0x12345678};
    auto expect = [&](Packet p, Errc code, std::string_view text) {
        auto r = check_reply(p, cookie);
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, code) << r.error().message;
        EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
    };
    ASSERT_TRUE(check_reply(reply_to(cookie), cookie));

    auto p = reply_to(cookie);
    p.origin.fraction ^= 1;
    expect(p, Errc::replayed, "origin timestamp does not match");
    p = reply_to(cookie);
    p.mode = 3;
    expect(p, Errc::malformed, "mode 3, expected 4");
    p.mode = 5;
    expect(p, Errc::malformed, "mode 5");
    p = reply_to(cookie);
    p.version = 2;
    expect(p, Errc::unsupported, "version 2");
    p.version = 5;
    expect(p, Errc::unsupported, "version 5");
    p.version = 3;
    EXPECT_TRUE(check_reply(p, cookie));  // NTPv3 servers are fine
    p = reply_to(cookie);
    p.stratum = 0;
    p.reference_id = 0x52415445;  // "RATE"
    expect(p, Errc::refused, "kiss-o'-death RATE");
    p.reference_id = 0x44454E59;  // "DENY"
    expect(p, Errc::refused, "kiss-o'-death DENY");
    p = reply_to(cookie);
    p.leap = 3;
    expect(p, Errc::refused, "unsynchronised (leap indicator 3)");
    p = reply_to(cookie);
    p.stratum = 16;
    expect(p, Errc::refused, "unsynchronised (stratum 16)");
    p = reply_to(cookie);
    p.transmit = {};
    expect(p, Errc::malformed, "zero transmit timestamp");
    p = reply_to(cookie);
    p.receive = {};
    expect(p, Errc::malformed, "zero receive timestamp");
    // A kiss that does not answer our request is not believed (RFC 5905 §7.4).
    p = reply_to(cookie);
    p.stratum = 0;
    p.origin = {};
    expect(p, Errc::replayed, "origin");
}

TEST(NtpReply, KissCodes) {
    EXPECT_EQ(kiss_code(0x52535452), "RSTR");
    EXPECT_EQ(kiss_code(0x494E4954), "INIT");
    EXPECT_EQ(kiss_code(0x01020304), "0x01020304");
    EXPECT_EQ(kiss_code(0), "0x00000000");
}

TEST(NtpArithmetic, OffsetAndDelayByHand) {
    auto base = unix_time(1767225600);
    // The server's clock is 100 ms ahead, 50 ms each way, 1 ms in the server:
    // θ = ((150) + (151 - 101)) / 2 = 100 ms; δ = 101 - 1 = 100 ms.
    Exchange ahead{base, base + 150ms, base + 151ms, base + 101ms};
    EXPECT_EQ(offset(ahead), 100ms);
    EXPECT_EQ(delay(ahead), 100ms);
    // 200 ms behind, 10 ms each way: θ = ((-190) + (-190 - 20)) / 2 = -200 ms; δ = 20 ms.
    Exchange behind{base, base - 190ms, base - 190ms, base + 20ms};
    EXPECT_EQ(offset(behind), -200ms);
    EXPECT_EQ(delay(behind), 20ms);
    // Asymmetric paths (30 ms out, 10 back, clocks equal) show as a 10 ms offset: the error
    // a half round trip bounds.
    Exchange asymmetric{base, base + 30ms, base + 30ms, base + 40ms};
    EXPECT_EQ(offset(asymmetric), 10ms);
    EXPECT_EQ(delay(asymmetric), 40ms);
    // A server that claims to have held the request longer than the round trip: δ floors at 0.
    EXPECT_EQ(delay(Exchange{base, base, base + 10ms, base + 5ms}), 0ns);
}

TEST(NtpArithmetic, ExchangeFromWireTimestamps) {
    auto t1 = unix_time(2085978496) - 2ms;  // straddles the 2036 era rollover
    ServerReply reply;
    reply.receive = to_timestamp(t1 + 101ms);
    reply.transmit = to_timestamp(t1 + 102ms);
    auto e = exchange(t1, reply, t1 + 3ms);
    EXPECT_LE(std::chrono::abs(offset(e) - 100ms), 2ns);
    EXPECT_LE(std::chrono::abs(delay(e) - 2ms), 2ns);
}

namespace {

sntp::ServerOutcome answered(std::string host, Duration offset, Duration delay, Duration root = 0ns) {
    sntp::ServerOutcome o{{std::move(host), 123}};
    o.best = sntp::Sample{offset, delay, root, 2};
    o.samples = 1;
    return o;
}

sntp::ServerOutcome failed(std::string host, std::string error) {
    sntp::ServerOutcome o{{std::move(host), 123}};
    o.error = std::move(error);
    return o;
}

}  // namespace

TEST(SntpCombine, MedianOutliersAndUncertainty) {
    // 10, 11 and 500 ms: median 11, deviations 1, 0, 489, MAD 1; 500 is farther than
    // 3 * 1 + 1 (its bound) + 1.5 ms (the widest bound, a's): an outlier. Median of the rest: 10.5 ms. Uncertainty:
    // the largest δ/2 + root distance (2/2 + 0.5) plus the largest distance from it (0.5).
    auto m = sntp::combine({answered("a", 10ms, 2ms, 500us), answered("b", 11ms, 2ms), answered("c", 500ms, 2ms)}, 3.0);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->offset, 10500us);
    EXPECT_EQ(m->used, 2u);
    EXPECT_TRUE(m->servers[2].outlier);
    EXPECT_FALSE(m->servers[0].outlier);
    EXPECT_EQ(m->uncertainty, 2ms);
    EXPECT_EQ(m->describe(), "offset +10.500 ms ± 2.000 ms from 2 of 3 servers; c:123: offset +500.000 ms, delay 2.000 ms, stratum 2 (outlier)");
}

TEST(SntpCombine, AFarSampleWithinItsOwnErrorIsKept) {
    // Same offsets, but c's half round trip (500 ms) covers its distance from the median.
    auto m = sntp::combine({answered("a", 10ms, 2ms), answered("b", 11ms, 2ms), answered("c", 500ms, 1000ms)}, 3.0);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->used, 3u);
    EXPECT_EQ(m->offset, 11ms);
    EXPECT_EQ(m->uncertainty, 500ms + 489ms);
}

TEST(SntpCombine, TightAgreementIsNotMistakenForAnOutlier) {
    // Loopback: 0, 2 and 10 µs with 8 µs round trips. MAD is 2 µs, so 3 MADs alone would drop
    // the 10 µs one, but 10 - 2 = 8 µs is within 6 + 4 + 4 µs: every interval holds the truth.
    auto m = sntp::combine({answered("a", 0us, 8us), answered("b", 2us, 8us), answered("c", 10us, 8us)}, 3.0);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->used, 3u);
    EXPECT_EQ(m->offset, 2us);
    EXPECT_EQ(m->uncertainty, 4us + 8us);
}

TEST(SntpCombine, FailuresAreReportedNotCounted) {
    auto m = sntp::combine({answered("a", -250ms, 1ms), failed("b", "no valid reply after 3 requests over 400 ms")}, 3.0);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->offset, -250ms);
    EXPECT_EQ(m->uncertainty, 500us);
    EXPECT_EQ(m->describe(), "offset -250.000 ms ± 0.500 ms from 1 of 2 servers; b:123: no valid reply after 3 requests over 400 ms");
    auto none = sntp::combine({failed("a", "x"), failed("b", "NTP kiss-o'-death DENY")}, 3.0);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::unreachable);
    EXPECT_EQ(none.error().message, "no NTP server gave a sample: a:123: x; b:123: NTP kiss-o'-death DENY");
}

TEST(SntpCombine, TwoServersAreNeverOutliers) {
    // With two, MAD equals each one's distance from their mean: neither can be called wrong.
    auto m = sntp::combine({answered("a", 0ms, 0ms), answered("b", 1000ms, 0ms)}, 3.0);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->used, 2u);
    EXPECT_EQ(m->offset, 500ms);
    EXPECT_EQ(m->uncertainty, 500ms);
}

TEST(NodeClock, InjectedOffsetShiftsOnlyTheLocalReading) {
    NodeConfig conf = NodeConfig::test();
    conf.inject_clock_offset_ms = 250;
    node::Clock clock(node::clock_options(conf));
    auto system = WallTime(std::chrono::system_clock::now());
    auto local = clock.local_now();
    EXPECT_GE(local - system, 250ms);
    EXPECT_LT(local - system, 300ms);
    EXPECT_FALSE(clock.uncertainty());  // nothing measured yet
    EXPECT_FALSE(clock.fresh());
    EXPECT_EQ(clock.offset(), 0ns);
    EXPECT_GE(clock.now() - system, 250ms);  // uncorrected until a sync
}
