// The STUN codec against RFC 5769's test vectors, round trips, and hostile inputs.
#include <gtest/gtest.h>

#include "proto/crc32.hpp"
#include "proto/stun.hpp"
#include "proto/stun_binding.hpp"
#include "support/stun_vectors.hpp"

using namespace warpgate;
using namespace warpgate::stun;

namespace {

Bytes vector_bytes(std::string_view hex) {
    std::string compact;
    for (char c : hex)
        if (c != ' ' && c != '\n') compact.push_back(c);
    return from_hex(compact);
}

TransactionId id_of(std::string_view hex) {
    TransactionId id{};
    auto b = from_hex(hex);
    std::copy(b.begin(), b.end(), id.begin());
    return id;
}

void expect_malformed(const Bytes& bytes, std::string_view why) {
    auto m = decode(bytes);
    ASSERT_FALSE(m) << why;
    EXPECT_EQ(m.error().code, Errc::malformed) << why;
}

}  // namespace

TEST(Crc32, KnownValue) {
    EXPECT_EQ(proto::crc32(as_bytes("123456789")), 0xCBF43926u);  // the standard check value
    EXPECT_EQ(proto::crc32({}), 0u);
}

TEST(StunCodec, Rfc5769SampleRequest) {
    auto bytes = vector_bytes(test::rfc5769_request);
    auto m = decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->cls, MessageClass::request);
    EXPECT_EQ(m->method, Method::binding);
    EXPECT_EQ(m->transaction_id, id_of("b7e7a701bc34d686fa87dfae"));
    EXPECT_TRUE(m->fingerprinted);
    ASSERT_NE(m->find(attr::software), nullptr);
    EXPECT_EQ(*read_text(*m->find(attr::software)), "STUN test client");
    ASSERT_NE(m->find(attr::username), nullptr);
    EXPECT_EQ(as_chars(m->find(attr::username)->value), "evtj:h6vY");  // padding excluded
    EXPECT_NE(m->find(attr::message_integrity), nullptr);
}

TEST(StunCodec, Rfc5769SampleIpv4Response) {
    auto bytes = vector_bytes(test::rfc5769_response_v4);
    auto m = decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->cls, MessageClass::success);
    EXPECT_TRUE(m->fingerprinted);
    auto r = read_binding_response(*m);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->mapped.to_string(), "192.0.2.1:32853");
    EXPECT_EQ(r->software, "test vector");
    EXPECT_FALSE(r->other_address);
}

TEST(StunCodec, Rfc5769SampleIpv6Response) {
    auto bytes = vector_bytes(test::rfc5769_response_v6);
    auto m = decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    auto r = read_binding_response(*m);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->mapped.to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

TEST(StunCodec, Rfc5769LongTermAuthRequestDecodesWithoutVerifyingIntegrity) {
    auto bytes = vector_bytes(test::rfc5769_request_long_term);
    auto m = decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_FALSE(m->fingerprinted);
    ASSERT_NE(m->find(attr::realm), nullptr);
    EXPECT_EQ(as_chars(m->find(attr::realm)->value), "example.org");
    ASSERT_NE(m->find(attr::nonce), nullptr);
    EXPECT_EQ(m->find(attr::nonce)->value.size(), 28u);
    ASSERT_NE(m->find(attr::username), nullptr);
    EXPECT_EQ(m->find(attr::username)->value.size(), 18u);  // "マトリックス" in UTF-8
}

TEST(StunCodec, FlippedBitBreaksFingerprint) {
    auto bytes = vector_bytes(test::rfc5769_response_v4);
    bytes[30] ^= 0x01;  // inside the SOFTWARE text
    expect_malformed(bytes, "fingerprint mismatch");
}

TEST(StunCodec, RejectsBrokenHeaders) {
    auto good = vector_bytes(test::rfc5769_response_v4);
    expect_malformed(Bytes(good.begin(), good.begin() + 19), "short header");
    auto lead = good;
    lead[0] |= 0x80;
    expect_malformed(lead, "leading bits");
    auto cookie = good;
    cookie[4] ^= 0xFF;
    expect_malformed(cookie, "wrong cookie");
    auto odd = good;
    odd[3] += 1;
    expect_malformed(odd, "length not a multiple of 4");
    auto longer = good;
    longer[3] += 4;
    expect_malformed(longer, "length beyond the datagram");
    auto extra = good;
    extra.insert(extra.end(), {0, 0, 0, 0});
    expect_malformed(extra, "trailing bytes");
}

TEST(StunCodec, RejectsAttributeOverrunsAndMisplacedFingerprint) {
    TransactionId id{1, 2, 3};
    auto base = MessageWriter(Method::binding, MessageClass::success, id)
                    .add_xor_address(attr::xor_mapped_address, *Endpoint::parse("10.0.0.1:5000"))
                    .finish(false);
    auto overrun = base;
    overrun[header_size + 3] = 0x40;  // XOR-MAPPED-ADDRESS claims 64 bytes
    expect_malformed(overrun, "value overrun");

    // A 3-byte value whose padding would lie outside the message.
    Bytes unpadded = MessageWriter(Method::binding, MessageClass::success, id).finish(false);
    unpadded.insert(unpadded.end(), {0x80, 0x22, 0x00, 0x03, 'a', 'b', 'c'});
    unpadded.push_back(0);
    unpadded[3] = 8;
    auto ok = decode(unpadded);
    ASSERT_TRUE(ok) << ok.error().message;  // padding present: fine
    unpadded.pop_back();
    unpadded[3] = 7;
    expect_malformed(unpadded, "length not multiple of 4 / padding missing");

    // An empty value is well formed (padding to 4 is then nothing).
    Bytes empty = MessageWriter(Method::binding, MessageClass::success, id).add(attr::software, {}).finish(false);
    EXPECT_TRUE(decode(empty));

    auto fingerprinted = MessageWriter(Method::binding, MessageClass::success, id).finish(true);
    fingerprinted.insert(fingerprinted.end(), {0x80, 0x22, 0x00, 0x00});
    fingerprinted[3] = 12;
    expect_malformed(fingerprinted, "attribute after FINGERPRINT");
}

TEST(StunCodec, DropsAttributesAfterMessageIntegrity) {
    TransactionId id{9};
    Bytes integrity(20, 0xAB);
    auto bytes = MessageWriter(Method::binding, MessageClass::success, id)
                     .add(attr::message_integrity, integrity)
                     .add_address(attr::mapped_address, *Endpoint::parse("10.0.0.1:1"))
                     .finish(true);
    auto m = decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->find(attr::mapped_address), nullptr);
    EXPECT_TRUE(m->fingerprinted);
}

TEST(StunCodec, MessageSizeFromHeader) {
    auto bytes = vector_bytes(test::rfc5769_response_v4);
    auto size = message_size(ByteView(bytes).first(header_size));
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, bytes.size());
    EXPECT_FALSE(message_size(ByteView(bytes).first(10)));
}

TEST(StunAddress, RoundTripsPlainAndXorBothFamilies) {
    TransactionId id{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8};
    for (auto text : {"203.0.113.7:3478", "[2001:db8::42]:65535", "0.0.0.0:0"}) {
        auto e = *Endpoint::parse(text);
        auto bytes = MessageWriter(Method::binding, MessageClass::success, id)
                         .add_address(attr::other_address, e)
                         .add_xor_address(attr::xor_mapped_address, e)
                         .finish(true);
        auto m = decode(bytes);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(*read_address(*m->find(attr::other_address)), e) << text;
        EXPECT_EQ(*read_xor_address(*m->find(attr::xor_mapped_address), id), e) << text;
        EXPECT_NE(m->find(attr::xor_mapped_address)->value[2], m->find(attr::other_address)->value[2]) << "port is masked";
    }
}

TEST(StunAddress, RejectsBadFamilyAndLength) {
    const std::uint8_t bad_family[] = {0, 0x03, 0, 1, 1, 2, 3, 4};
    const std::uint8_t v4_too_long[] = {0, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    const std::uint8_t v6_too_short[] = {0, 0x02, 0, 1, 1, 2, 3, 4};
    const std::uint8_t tiny[] = {0, 0x01};
    for (ByteView v : {ByteView(bad_family), ByteView(v4_too_long), ByteView(v6_too_short), ByteView(tiny)}) {
        auto r = read_address(Attribute{attr::mapped_address, v});
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::malformed);
    }
}

TEST(StunErrorCode, ReadsAndRejectsOutOfRange) {
    TransactionId id{7};
    auto bytes = MessageWriter(Method::binding, MessageClass::error, id).add_error_code(420, "Unknown Attribute").finish(true);
    auto m = decode(bytes);
    ASSERT_TRUE(m);
    auto r = read_binding_response(*m);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::refused);
    EXPECT_EQ(r.error().message, "STUN error 420 (Unknown Attribute)");

    const std::uint8_t class_two[] = {0, 0, 2, 0};
    const std::uint8_t number_too_big[] = {0, 0, 4, 100};
    EXPECT_FALSE(read_error_code(Attribute{attr::error_code, class_two}));
    EXPECT_FALSE(read_error_code(Attribute{attr::error_code, number_too_big}));
    const std::uint8_t control_chars[] = {0, 0, 5, 0, 'o', '\n', 'k'};
    EXPECT_EQ(read_error_code(Attribute{attr::error_code, control_chars})->reason, "o?k");
}

TEST(StunBinding, RequestEncodesChangeRequestAndFingerprint) {
    BindingRequest req{id_of("000102030405060708090a0b"), ChangeRequest{true, true}, true};
    auto bytes = encode(req);
    auto m = decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->cls, MessageClass::request);
    EXPECT_EQ(m->transaction_id, req.transaction_id);
    EXPECT_TRUE(m->fingerprinted);
    ASSERT_NE(m->find(attr::change_request), nullptr);
    EXPECT_EQ(to_hex(m->find(attr::change_request)->value), "00000006");
    EXPECT_EQ(to_hex(ByteView(bytes).first(4)), "00010010");  // Binding request, 16 bytes of attributes

    auto port_only = encode(BindingRequest{req.transaction_id, ChangeRequest{false, true}, false});
    EXPECT_EQ(to_hex(ByteView(port_only).subspan(20)), "0003000400000002");
    EXPECT_EQ(encode(BindingRequest{req.transaction_id, std::nullopt, false}).size(), header_size);
}

TEST(StunBinding, FallsBackToRfc3489Attributes) {
    TransactionId id{5};
    auto bytes = MessageWriter(Method::binding, MessageClass::success, id)
                     .add_address(attr::mapped_address, *Endpoint::parse("198.51.100.9:40000"))
                     .add_address(attr::source_address, *Endpoint::parse("203.0.113.100:3478"))
                     .add_address(attr::changed_address, *Endpoint::parse("203.0.113.101:3479"))
                     .finish(false);
    auto r = read_binding_response(*decode(bytes));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->mapped.to_string(), "198.51.100.9:40000");
    EXPECT_EQ(r->response_origin->to_string(), "203.0.113.100:3478");
    EXPECT_EQ(r->other_address->to_string(), "203.0.113.101:3479");
}

TEST(StunBinding, PrefersXorMappedAndRfc5780Attributes) {
    TransactionId id{6};
    auto bytes = MessageWriter(Method::binding, MessageClass::success, id)
                     .add_address(attr::mapped_address, *Endpoint::parse("1.1.1.1:1"))
                     .add_xor_address(attr::xor_mapped_address, *Endpoint::parse("2.2.2.2:2"))
                     .add_address(attr::changed_address, *Endpoint::parse("3.3.3.3:3"))
                     .add_address(attr::other_address, *Endpoint::parse("4.4.4.4:4"))
                     .finish(true);
    auto r = read_binding_response(*decode(bytes));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->mapped.to_string(), "2.2.2.2:2");
    EXPECT_EQ(r->other_address->to_string(), "4.4.4.4:4");
}

TEST(StunBinding, RejectsWhatIsNotAUsableResponse) {
    TransactionId id{8};
    auto no_mapped = MessageWriter(Method::binding, MessageClass::success, id).finish(true);
    auto request = MessageWriter(Method::binding, MessageClass::request, id)
                       .add_xor_address(attr::xor_mapped_address, *Endpoint::parse("1.1.1.1:1"))
                       .finish(true);
    auto unknown_required = MessageWriter(Method::binding, MessageClass::success, id)
                                .add_xor_address(attr::xor_mapped_address, *Endpoint::parse("1.1.1.1:1"))
                                .add(0x0031, Bytes{1, 2, 3, 4})
                                .finish(true);
    auto error_without_code = MessageWriter(Method::binding, MessageClass::error, id).finish(true);
    for (const auto* bytes : {&no_mapped, &request, &unknown_required, &error_without_code}) {
        auto m = decode(*bytes);
        ASSERT_TRUE(m);
        auto r = read_binding_response(*m);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::malformed) << r.error().message;
    }
    auto unknown_optional = MessageWriter(Method::binding, MessageClass::success, id)
                                .add_xor_address(attr::xor_mapped_address, *Endpoint::parse("1.1.1.1:1"))
                                .add(0x8031, Bytes{1, 2, 3, 4})
                                .finish(true);
    EXPECT_TRUE(read_binding_response(*decode(unknown_optional)));
}
