// The PCP codec (RFC 6887) MAP opcode against byte layouts written out from the RFC's
// diagrams, options, and its strictness.
#include <gtest/gtest.h>

#include "proto/pcp.hpp"
#include "support/spaced_hex.hpp"

using namespace warpgate;
using namespace warpgate::pcp;

namespace {
Bytes hex(std::string_view text) { return test::spaced_hex(text); }
const Nonce nonce = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
// Header of a MAP request for 3600 s from 10.1.0.2, then the body: nonce, TCP, reserved,
// internal 40000, suggested 40000, suggested address 0.0.0.0 (IPv4-mapped).
const char* request_hex =
    "02 01 0000  00000e10  00000000 00000000 0000ffff 0a010002"
    "0102030405060708090a0b0c  06 000000  9c40 9c40  00000000 00000000 0000ffff 00000000";
const char* response_hex =
    "02 81 00 00  00000078  00003039  00000000 00000000 00000000"
    "0102030405060708090a0b0c  06 000000  9c40 9c40  00000000 00000000 0000ffff c6336402";
}  // namespace

TEST(PcpCodec, MapRequestMatchesTheRfcLayout) {
    MapRequest r;
    r.lifetime = 3600;
    r.client_ip = asio::ip::make_address("10.1.0.2");
    r.map = {nonce, protocol_tcp, 40000, 40000, asio::ip::address_v4::any()};
    EXPECT_EQ(encode(r), hex(request_hex));
    auto back = decode_map_request(hex(request_hex));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, r);
}

TEST(PcpCodec, DecodesAMapResponse) {
    auto r = decode_map_response(hex(response_hex));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->result, ResultCode::success);
    EXPECT_EQ(r->lifetime, 120u);
    EXPECT_EQ(r->epoch, 12345u);
    EXPECT_TRUE(r->has_body);
    EXPECT_EQ(r->map.nonce, nonce);
    EXPECT_EQ(r->map.protocol, protocol_tcp);
    EXPECT_EQ(r->map.external_port, 40000);
    EXPECT_EQ(r->map.external_ip, asio::ip::make_address("198.51.100.2"));
    EXPECT_EQ(encode(*r), hex(response_hex));
}

TEST(PcpCodec, OptionsArePaddedAndCarriedThrough) {
    MapResponse r;
    r.map = {nonce, protocol_udp, 1, 2, asio::ip::make_address("2001:db8::1")};
    r.options = {{3, {}}, {2, {0xaa, 0xbb, 0xcc, 0xdd, 0xee}}};
    auto bytes = encode(r);
    EXPECT_EQ(bytes.size(), 24u + 36u + 4u + 12u);  // the 5-byte option padded to 8
    auto back = decode_map_response(bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, r);
    EXPECT_TRUE(back->map.external_ip.is_v6());
    bytes.back() = 1;  // nonzero padding
    EXPECT_FALSE(decode_map_response(bytes));
}

TEST(PcpCodec, HeaderOnlyErrorsAndResultNames) {
    auto r = decode_map_response(hex("02 81 00 08  0000001e  00003039  00000000 00000000 00000000"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->has_body);
    EXPECT_EQ(r->result, ResultCode::no_resources);
    EXPECT_EQ(to_string(r->result), "NO_RESOURCES");
    // Success needs the body.
    EXPECT_FALSE(decode_map_response(hex("02 81 00 00  0000001e  00003039  00000000 00000000 00000000")));
}

TEST(PcpCodec, RejectsMalformedResponses) {
    auto bytes = hex(response_hex);
    auto with = [&](std::size_t at, std::uint8_t v) {
        auto b = bytes;
        b[at] = v;
        return decode_map_response(b);
    };
    EXPECT_FALSE(with(1, 0x01));  // R bit clear: a request
    EXPECT_FALSE(with(1, 0x82));  // PEER, not MAP
    auto v3 = with(0, 3);
    ASSERT_FALSE(v3);
    EXPECT_EQ(v3.error().code, Errc::unsupported);
    // A NAT-PMP server's answer to a PCP request (RFC 6887 §9).
    auto natpmp = decode_map_response(hex("00 81 0001 00000010"));
    ASSERT_FALSE(natpmp);
    EXPECT_EQ(natpmp.error().code, Errc::unsupported);
    bytes.push_back(0);
    EXPECT_FALSE(decode_map_response(bytes));  // not a multiple of 4
    bytes.resize(24 + 32);
    EXPECT_FALSE(decode_map_response(bytes));  // body truncated
    bytes = hex(response_hex);
    Bytes option = {0x01, 0x00, 0x00, 0x08, 0, 0, 0, 0};  // says 8 bytes, carries 4
    bytes.insert(bytes.end(), option.begin(), option.end());
    EXPECT_FALSE(decode_map_response(bytes));
    EXPECT_FALSE(decode_map_response(Bytes(1104, 0x02)));  // over the 1100-byte limit
}

TEST(PcpCodec, RandomNoncesDiffer) { EXPECT_NE(random_nonce(), random_nonce()); }
