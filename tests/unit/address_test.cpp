#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <warpgate/address.hpp>

using namespace warpgate;
using ::testing::HasSubstr;

namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

Bytes test_key() {
    Bytes key{0x02};
    for (int i = 1; i <= 32; ++i) key.push_back(static_cast<std::uint8_t>(i));
    return key;
}

// The test vector of docs/node-address.md.
NodeAddress vector_address() {
    NodeAddress a;
    a.public_key = test_key();
    for (int i = 0; i < 16; ++i) a.machine_id[i] = static_cast<std::uint8_t>(0xa0 + i);
    a.os = OsKind::linux_os;
    a.v4.push_back({2, ip("192.168.1.10"), 24, ip("203.0.113.7"), 10001,
                    {NatType::port_restricted, DeltaType::independent, -2, MappingBehaviour::endpoint_independent}, 40001});
    a.v6.push_back({2, ip("2001:db8::10"), 64, ip("2001:db8::10"), 10001,
                    {NatType::open_internet, DeltaType::not_applicable, 0, MappingBehaviour::endpoint_independent}});
    a.hints.push_back({ServerKind::mqtt, {"mqtt.example.org", 1883}});
    a.hints.push_back({ServerKind::turn, {"192.0.2.50", 3478}});
    return a;
}

constexpr const char* vector_hex =
    "02"                                                                  // version
    "020102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"  // public key
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"                                    // machine id
    "01"                                                                  // os: linux
    "01" "02" "2711" "c0a8010a" "18" "d4" "81" "cb007107" "9c41" "03"     // 1 IPv4 entry
    "01" "02" "2711" "20010db8000000000000000000000010" "40" "11" "01" "00" // 1 IPv6 entry
    "02"                                                                  // 2 hints
    "01" "10" "6d7174742e6578616d706c652e6f7267" "075b"                   // mqtt.example.org:1883
    "02" "0a" "3139322e302e322e3530" "0d96";                              // 192.0.2.50:3478

constexpr const char* vector_text =
    "wg1aibacaqdaqcqmbyibefawdanbyhraeiscmkbkfqxdamrugy4dupb6ifaugrkhjffu2t2rknkvowk3lvpaeaqejyrycuaccqy2sa4wad"
    "ra6oecaybaitrciabbw4aaaaaaaaaaaaaaaaaaecaceaqaaqbcbwxc5dufzsxqylnobwgkltpojtqowycbiytsmrogaxdelrvgagznmljftkq";

// Byte offsets of fields in the vector's encoding.
constexpr std::size_t at_os = 50, at_v4_count = 51, at_v4_prefix = 59, at_v4_nat = 60, at_v4_behaviour = 61,
                      at_v4_external_ip = 62, at_v4_external_port = 66, at_v6_count = 69, at_v6_nic = 73, at_v6_prefix = 89,
                      at_v6_nat = 90, at_hint_count = 93, at_hint_kind = 94, at_hint_len = 95, at_hint_host = 96,
                      at_hint_port = 112;

Bytes vector_bytes() { return from_hex(vector_hex); }

NodeAddress full_address() {
    NodeAddress a = vector_address();
    a.v4.clear();
    a.v6.clear();
    a.hints.clear();
    a.public_key[0] = 0x03;
    for (std::uint32_t i = 0; i < NodeAddress::max_entries_per_family; ++i) {
        a.v4.push_back({UINT32_MAX - i, ip("10.0.0.1"), 32, ip("198.51.100.1"), 65535,
                        {NatType::blocked, DeltaType::random, i % 2 ? INT32_MIN : INT32_MAX, MappingBehaviour::unknown}, 1});
        a.v6.push_back({UINT32_MAX - i, ip("fd00::1"), 128, ip("2001:db8:ffff::1"), 1,
                        {NatType::symmetric, DeltaType::dependent, i % 2 ? INT32_MAX : INT32_MIN,
                         MappingBehaviour::address_and_port_dependent}, 65535});
    }
    for (std::size_t i = 0; i < NodeAddress::max_hints; ++i)
        a.hints.push_back({i % 2 ? ServerKind::turn : ServerKind::mqtt, {std::string(253, 'a' + i), 65535}});
    a.os = OsKind::android;
    return a;
}

void expect_round_trip(const NodeAddress& a) {
    auto bytes = serialize(a);
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto back = parse_address(*bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, a);
    auto text = parse_address_text(to_text(a));
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, a);
}

Bytes patched(std::size_t offset, std::uint8_t value) {
    auto b = vector_bytes();
    b.at(offset) = value;
    return b;
}

void expect_malformed(const Bytes& b, const std::string& what, std::size_t offset) {
    auto r = parse_address(b);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_THAT(r.error().message, HasSubstr(what));
    EXPECT_THAT(r.error().message, HasSubstr("(at byte " + std::to_string(offset) + ")"));
}

void expect_config_error(const NodeAddress& a, const std::string& what) {
    auto r = serialize(a);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, Errc::config);
    EXPECT_THAT(r.error().message, HasSubstr(what));
}

}  // namespace

TEST(NodeAddress, TestVectorMatchesTheDocs) {
    auto bytes = serialize(vector_address());
    ASSERT_TRUE(bytes);
    EXPECT_EQ(to_hex(*bytes), vector_hex);
    EXPECT_EQ(to_text(vector_address()), vector_text);
    auto parsed = parse_address_text(vector_text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, vector_address());
}

TEST(NodeAddress, RoundTripsEachShape) {
    auto v4_only = vector_address();
    v4_only.v6.clear();
    v4_only.hints.clear();
    expect_round_trip(v4_only);
    auto v6_only = vector_address();
    v6_only.v4.clear();
    expect_round_trip(v6_only);
    expect_round_trip(vector_address());
    auto empty = vector_address();
    empty.v4.clear();
    empty.v6.clear();
    empty.hints.clear();
    expect_round_trip(empty);
}

TEST(NodeAddress, FullAddressRoundTripsAtTheMaximumSize) {
    auto a = full_address();
    expect_round_trip(a);
    EXPECT_EQ(serialize(a)->size(), NodeAddress::max_encoded_size);
}

TEST(NodeAddress, ExternalEndpointFallsBackToTheListenPort) {
    auto a = vector_address();
    EXPECT_EQ(a.v4[0].external_endpoint(), (Endpoint{ip("203.0.113.7"), 40001}));
    EXPECT_EQ(a.v6[0].external_endpoint(), (Endpoint{ip("2001:db8::10"), 10001})) << "not measured: the listen port";
}

TEST(NodeAddress, TypicalAddressIsCompact) {
    auto a = vector_address();
    a.v6.clear();
    a.hints.clear();
    EXPECT_LT(serialize(a)->size(), 100u);
}

TEST(NodeAddress, EveryTruncationIsRejected) {
    for (auto b : {vector_bytes(), *serialize(full_address())}) {
        for (std::size_t n = 0; n < b.size(); ++n) {
            auto r = parse_address(ByteView(b).first(n));
            ASSERT_FALSE(r) << n;
            EXPECT_EQ(r.error().code, Errc::malformed);
            EXPECT_THAT(r.error().message, HasSubstr("truncated")) << n;
        }
    }
}

TEST(NodeAddress, EverySingleByteCorruptionIsRejectedOrCanonical) {
    const auto good = vector_bytes();
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (int v = 0; v < 256; ++v) {
            auto b = good;
            b[i] = static_cast<std::uint8_t>(v);
            auto r = parse_address(b);
            if (!r) continue;
            auto again = serialize(*r);
            ASSERT_TRUE(again) << i << " " << v;
            EXPECT_EQ(*again, b) << "non-canonical encoding accepted at byte " << i;
        }
    }
}

TEST(NodeAddressText, EverySingleCharacterCorruptionIsCaught) {
    const std::string good = vector_text;
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (int v = 0; v < 256; ++v) {
            auto text = good;
            text[i] = static_cast<char>(v);
            auto r = parse_address_text(text);
            if (r) {
                // Only a change of case (or nothing) may still parse, and it means the same.
                EXPECT_EQ(std::tolower(static_cast<unsigned char>(text[i])), good[i]) << i << " " << v;
                EXPECT_EQ(*r, vector_address());
                continue;
            }
            EXPECT_EQ(r.error().code, Errc::malformed);
            // Another symbol in the body (not the last one, whose low bits are unused) is a typo.
            bool typo = i >= 3 && i + 1 < good.size() && alphabet.find(static_cast<char>(v)) != std::string::npos;
            if (typo) {
                EXPECT_EQ(r.error().message, "checksum mismatch: typo in address?") << i << " " << v;
            }
        }
    }
}

TEST(NodeAddressText, CaseAndSurroundingWhitespaceDoNotMatter) {
    std::string upper = vector_text;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto r = parse_address_text(" \t" + upper + "\r\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, vector_address());
}

TEST(NodeAddressText, RejectsWrongPrefixBadCharactersAndLength) {
    const std::string body = std::string(vector_text).substr(3);
    auto no_prefix = parse_address_text(body);
    ASSERT_FALSE(no_prefix);
    EXPECT_THAT(no_prefix.error().message, HasSubstr("'wg1'"));
    EXPECT_FALSE(parse_address_text("wg2" + body));
    EXPECT_FALSE(parse_address_text(""));
    EXPECT_FALSE(parse_address_text("wg1"));
    auto bad = parse_address_text("wg1" + body.substr(0, 10) + "0" + body.substr(11));
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message, HasSubstr("bad character '0' at position 13"));
    auto inner_space = parse_address_text("wg1" + body.substr(0, 10) + " " + body.substr(10));
    EXPECT_FALSE(inner_space);
    auto huge = parse_address_text("wg1" + std::string(5000, 'a'));
    ASSERT_FALSE(huge);
    EXPECT_THAT(huge.error().message, HasSubstr("over the maximum"));
}

TEST(NodeAddressText, ToTextThrowsOnAnInvalidAddress) {
    auto a = vector_address();
    a.public_key.clear();
    EXPECT_THROW(to_text(a), Exception);
}

TEST(NodeAddress, RejectsTrailingAndOversizedInput) {
    auto b = vector_bytes();
    b.push_back(0);
    expect_malformed(b, "1 trailing byte(s)", 128);
    auto r = parse_address(Bytes(NodeAddress::max_encoded_size + 1, 0x01));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("over the maximum of 2406"));
}

TEST(NodeAddress, RejectsUnknownVersions) {
    auto future = parse_address(patched(0, 3));
    ASSERT_FALSE(future);
    EXPECT_EQ(future.error().code, Errc::unsupported);
    EXPECT_THAT(future.error().message, HasSubstr("version 3"));
    auto old = parse_address(patched(0, 1));  // version 1 had no external port and mapping
    ASSERT_FALSE(old);
    EXPECT_EQ(old.error().code, Errc::unsupported);
    EXPECT_THAT(old.error().message, HasSubstr("version 1 is older"));
    expect_malformed(patched(0, 0), "version 0", 0);
}

TEST(NodeAddress, RejectsCountsOverTheLimits) {
    expect_malformed(patched(at_v4_count, 5), "5 IPv4 entries, at most 4", at_v4_count);
    expect_malformed(patched(at_v6_count, 255), "255 IPv6 entries, at most 4", at_v6_count);
    expect_malformed(patched(at_hint_count, 9), "9 server hints, at most 8", at_hint_count);
}

TEST(NodeAddress, RejectsOutOfRangeFields) {
    expect_malformed(patched(1, 0x04), "public key prefix 0x04", 1);
    expect_malformed(patched(at_os, 6), "OS 6", at_os);
    expect_malformed(patched(at_v4_prefix, 33), "prefix length 33 is over 32", at_v4_prefix);
    expect_malformed(patched(at_v6_prefix, 129), "prefix length 129 is over 128", at_v6_prefix);
    expect_malformed(patched(at_v4_nat, 0xd7), "delta type 7", at_v4_nat);
    expect_malformed(patched(at_v4_nat, 0xdc), "reserved bit", at_v4_nat);
    expect_malformed(patched(at_v4_behaviour, 0x85), "reserved bits 0x04 of the behaviour byte", at_v4_behaviour);
    expect_malformed(patched(at_v4_behaviour, 0xc1), "reserved bits 0x40 of the behaviour byte", at_v4_behaviour);
    expect_malformed(patched(at_hint_kind, 0), "server kind 0", at_hint_kind);
    expect_malformed(patched(at_hint_kind, 3), "server kind 3", at_hint_kind);
    expect_malformed(patched(at_hint_len, 0), "empty host", at_hint_len);
    expect_malformed(patched(at_hint_host + 4, '/'), "bad character 0x2f", at_hint_host + 4);
    auto zero_port = vector_bytes();
    zero_port[at_hint_port] = zero_port[at_hint_port + 1] = 0;
    expect_malformed(zero_port, "server port 0", at_hint_port);
}

TEST(NodeAddress, RejectsFamilyConfusionAndRedundantExternalAddress) {
    auto mapped = vector_bytes();
    const Bytes v4_mapped = from_hex("00000000000000000000ffffc0a8010a");
    std::copy(v4_mapped.begin(), v4_mapped.end(), mapped.begin() + at_v6_nic);
    expect_malformed(mapped, "IPv4-mapped", at_v6_nic);

    auto a = vector_address();
    a.v4[0].external_ip = a.v4[0].nic_ip;
    auto b = *serialize(a);  // now without the external address
    b[at_v4_nat] |= 0x80;    // claims one: the NIC address again
    const Bytes nic = from_hex("c0a8010a");
    b.insert(b.begin() + at_v4_external_ip, nic.begin(), nic.end());
    expect_malformed(b, "external address repeats the NIC address", at_v4_external_ip);

    a = vector_address();
    a.v4[0].external_port = 0;
    auto c = *serialize(a);          // now without the external port
    c[at_v4_behaviour] |= 0x80;      // claims one: the listen port again
    const Bytes port = from_hex("2711");
    c.insert(c.begin() + at_v4_external_port, port.begin(), port.end());
    expect_malformed(c, "external port repeats the listen port", at_v4_external_port);
    auto zero = vector_bytes();
    zero[at_v4_external_port] = zero[at_v4_external_port + 1] = 0;
    expect_malformed(zero, "external port 0", at_v4_external_port);
}

TEST(NodeAddress, RejectsNonCanonicalAndOverlongVarints) {
    auto overlong = vector_bytes();  // interface index 2 as 0x82 0x00
    overlong[52] = 0x82;
    overlong.insert(overlong.begin() + 53, 0x00);
    expect_malformed(overlong, "interface index is not in shortest varint form", 52);
    auto too_big = vector_bytes();  // 0xff 0xff 0xff 0xff 0x1f: 35 bits
    const Bytes big = from_hex("ffffffff1f");
    too_big.erase(too_big.begin() + 52);
    too_big.insert(too_big.begin() + 52, big.begin(), big.end());
    expect_malformed(too_big, "interface index does not fit in 32 bits", 52);
}

TEST(NodeAddress, SerializeRejectsAddressesBreakingTheLimits) {
    auto a = vector_address();
    a.public_key.pop_back();
    expect_config_error(a, "public key is 32 bytes");
    a = vector_address();
    a.public_key[0] = 0x04;
    expect_config_error(a, "public key prefix 0x04");
    a = full_address();
    a.v4.push_back(a.v4[0]);
    expect_config_error(a, "5 IPv4 entries, at most 4");
    a = full_address();
    a.v6.push_back(a.v6[0]);
    expect_config_error(a, "5 IPv6 entries, at most 4");
    a = full_address();
    a.hints.push_back(a.hints[0]);
    expect_config_error(a, "9 server hints, at most 8");
    a = vector_address();
    a.v4[0].nic_ip = ip("fd00::1");
    expect_config_error(a, "IPv4 entry 0: NIC address fd00::1 is not IPv4");
    a = vector_address();
    a.v6[0].external_ip = ip("1.2.3.4");
    expect_config_error(a, "IPv6 entry 0: external address 1.2.3.4 is not IPv6");
    a = vector_address();
    a.v6[0].nic_ip = a.v6[0].external_ip = ip("::ffff:1.2.3.4");
    expect_config_error(a, "is not IPv6");
    a = vector_address();
    a.v4[0].prefix_len = 33;
    expect_config_error(a, "prefix length 33 is over 32");
    a = vector_address();
    a.v4[0].nat.type = static_cast<NatType>(8);
    expect_config_error(a, "NAT type 8");
    a = vector_address();
    a.v6[0].nat.delta_type = static_cast<DeltaType>(7);
    expect_config_error(a, "delta type 7");
    a = vector_address();
    a.v4[0].external_port = a.v4[0].port;
    expect_config_error(a, "IPv4 entry 0: external port 10001 repeats the listen port");
    a = vector_address();
    a.v4[0].nat.mapping = static_cast<MappingBehaviour>(4);
    expect_config_error(a, "mapping behaviour 4");
    a = vector_address();
    a.os = static_cast<OsKind>(6);
    expect_config_error(a, "OS 6");
    a = vector_address();
    a.hints[1].kind = static_cast<ServerKind>(3);
    expect_config_error(a, "server hint 1: server kind 3");
    a = vector_address();
    a.hints[0].server.host = "";
    expect_config_error(a, "host length 0");
    a = vector_address();
    a.hints[0].server.host = std::string(254, 'a');
    expect_config_error(a, "host length 254");
    a = vector_address();
    a.hints[0].server.host = "mqtt example.org";
    expect_config_error(a, "bad character");
    a = vector_address();
    a.hints[0].server.port = 0;
    expect_config_error(a, "port 0");
}

TEST(NodeAddress, FuzzCorpusSeedsAreCurrentAddresses) {
    // Seeds in an old format would only exercise the version check.
    const std::filesystem::path corpus = std::filesystem::path(WARPGATE_SOURCE_DIR) / "tests/fuzz/corpus/address_fuzz";
    int seeds = 0;
    for (const auto& file : std::filesystem::directory_iterator(corpus)) {
        std::ifstream in(file.path(), std::ios::binary);
        const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        ++seeds;
        if (file.path().extension() == ".txt") {
            auto a = parse_address_text(content);
            EXPECT_TRUE(a) << file.path() << ": " << a.error().message;
            continue;
        }
        const Bytes bytes(content.begin(), content.end());
        auto a = parse_address(bytes);
        ASSERT_TRUE(a) << file.path() << ": " << a.error().message;
        EXPECT_EQ(*serialize(*a), bytes) << file.path();
    }
    EXPECT_GE(seeds, 5);
}
