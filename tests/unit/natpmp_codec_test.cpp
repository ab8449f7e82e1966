// The NAT-PMP codec (RFC 6886) against byte layouts written out from the RFC's diagrams, its
// strictness, and the epoch rule of §3.6.
#include <gtest/gtest.h>

#include "proto/natpmp.hpp"
#include "support/spaced_hex.hpp"

using namespace warpgate;
using namespace warpgate::natpmp;
using namespace std::chrono_literals;

namespace {
Bytes hex(std::string_view text) { return test::spaced_hex(text); }
}  // namespace

TEST(NatPmpCodec, RequestsMatchTheRfcLayout) {
    EXPECT_EQ(encode_external_address_request(), hex("00 00"));
    // §3.3: version 0, opcode 2 (TCP), reserved, internal 40000, suggested 40001, lifetime 7200.
    EXPECT_EQ(encode(MapRequest{true, 40000, 40001, 7200}), hex("00 02 0000  9c40 9c41  00001c20"));
    // §3.4: a deletion is lifetime 0, suggested port 0.
    EXPECT_EQ(encode(MapRequest{false, 40000, 0, 0}), hex("00 01 0000  9c40 0000  00000000"));
}

TEST(NatPmpCodec, DecodesTheExternalAddressResponse) {
    auto r = decode_response(hex("00 80 0000  00003039  c6336402"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->opcode, Opcode::external_address);
    EXPECT_EQ(r->result, ResultCode::success);
    EXPECT_EQ(r->epoch, 12345u);
    EXPECT_EQ(r->external_ip, asio::ip::make_address_v4("198.51.100.2"));
    EXPECT_EQ(encode(*r), hex("00 80 0000  00003039  c6336402"));
}

TEST(NatPmpCodec, DecodesMappingResponsesAndResultCodes) {
    auto r = decode_response(hex("00 82 0000  00000010  9c40 9c41  00000e10"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->opcode, Opcode::map_tcp);
    EXPECT_EQ(r->internal_port, 40000);
    EXPECT_EQ(r->external_port, 40001);
    EXPECT_EQ(r->lifetime, 3600u);
    auto refused = decode_response(hex("00 81 0002  00000010  9c40 0000  00000000"));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->result, ResultCode::not_authorized);
    EXPECT_EQ(to_string(refused->result), "not authorized/refused");
    // §3.5's short "unsupported version" answer: header and epoch only.
    auto short_form = decode_response(hex("00 81 0001  00000010"));
    ASSERT_TRUE(short_form) << short_form.error().message;
    EXPECT_TRUE(short_form->short_form);
    EXPECT_EQ(encode(*short_form), hex("00 81 0001  00000010"));
    EXPECT_EQ(to_string(static_cast<ResultCode>(99)), "result code 99");
}

TEST(NatPmpCodec, RejectsMalformedResponses) {
    EXPECT_FALSE(decode_response(hex("00 80 0000 0000")));                        // truncated
    EXPECT_FALSE(decode_response(hex("00 80 0000  00003039  c6336402 00")));      // trailing byte
    EXPECT_FALSE(decode_response(hex("00 82 0000  00000010  9c40 9c41")));        // mapping body short
    EXPECT_FALSE(decode_response(hex("00 81 0000  00000010")));                   // short form needs an error
    EXPECT_FALSE(decode_response(hex("00 02 0000  00000010  9c40 9c41  00000e10")));  // a request
    EXPECT_FALSE(decode_response(hex("00 83 0000  00000010  9c40 9c41  00000e10")));  // unknown opcode
    auto pcp = decode_response(hex("02 81 0000  00000010  9c40 9c41  00000e10"));    // a PCP version
    ASSERT_FALSE(pcp);
    EXPECT_EQ(pcp.error().code, Errc::unsupported);
}

TEST(NatPmpEpoch, NoticesARestartButNotNormalDrift) {
    EpochWatch watch;
    auto t0 = EpochWatch::Clock::time_point{} + 1000s;
    EXPECT_FALSE(watch.lost_state(5000, t0));  // the first sets the reference
    EXPECT_TRUE(watch.known());
    EXPECT_FALSE(watch.lost_state(5060, t0 + 60s));   // in step
    EXPECT_FALSE(watch.lost_state(5118, t0 + 120s));  // 2 s behind: within the slack
    EXPECT_TRUE(watch.lost_state(30, t0 + 130s));     // moved back: a restart
    EXPECT_FALSE(watch.lost_state(90, t0 + 190s));
    EXPECT_TRUE(watch.lost_state(100, t0 + 290s));    // advanced 10 s in 100 s: lost state
    EXPECT_TRUE(watch.lost_state(400, t0 + 300s));    // ran far ahead of our clock
}
