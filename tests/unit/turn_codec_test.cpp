// The TURN codec (RFC 8656) and long-term credentials (RFC 8489 §9.2) against the RFC 5769
// and RFC 8489 (errata 6268) vectors, round trips, and hostile inputs.
#include <gtest/gtest.h>

#include "proto/turn.hpp"
#include "proto/turn_auth.hpp"
#include "support/stun_vectors.hpp"

using namespace warpgate;
using namespace warpgate::turn;

namespace {

// RFC 8489 Appendix B.1 as corrected by errata 6268: USERHASH, NONCE, REALM,
// PASSWORD-ALGORITHM SHA-256, MESSAGE-INTEGRITY-SHA256; user "マトリックス", password
// "TheMatrIX", realm "example.org".
constexpr std::string_view rfc8489_request_sha256 =
    "000100902112a44278ad3433c6ad72c029da412e"
    "001e00204a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704"
    "00150029"
    "6f624d61744a6f7332414141"
    "43662f2f3439396b39353464364f4c33346f4c394653547679363473410000 00"
    "0014000b6578616d706c652e6f726700"
    "001d000400020000"
    "001c0020b5c7bf005b6c52a21c51c5e892f81924136296cb927c431493 09278cc6518e65";

constexpr std::string_view matrix_user = "\xE3\x83\x9E\xE3\x83\x88\xE3\x83\xAA\xE3\x83\x83\xE3\x82\xAF\xE3\x82\xB9";

Bytes vector_bytes(std::string_view hex) {
    std::string compact;
    for (char c : hex)
        if (c != ' ' && c != '\n') compact.push_back(c);
    return from_hex(compact);
}

stun::TransactionId id_of(std::uint8_t seed) {
    stun::TransactionId id{};
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(seed + i);
    return id;
}

Credentials lab_credentials() {
    return {"test", "lab", "nonce-1", long_term_key("test", "lab", "test"), {}, PasswordAlgorithm::md5};
}

const Endpoint peer{asio::ip::make_address("192.0.2.7"), 5000};
const Endpoint peer6{asio::ip::make_address("2001:db8::7"), 6000};

}  // namespace

TEST(TurnAuth, Rfc5769ShortTermVectorsVerify) {
    auto key = as_bytes("VOkJxbRl1RmTxUk/WvJxBt");
    for (auto hex : {test::rfc5769_request, test::rfc5769_response_v4, test::rfc5769_response_v6}) {
        auto bytes = vector_bytes(hex);
        auto m = stun::decode(bytes);
        ASSERT_TRUE(m) << m.error().message;
        auto ok = verify_integrity(bytes, *m, key);
        EXPECT_TRUE(ok) << ok.error().message;
        auto wrong = verify_integrity(bytes, *m, as_bytes("VOkJxbRl1RmTxUk/WvJxBu"));
        ASSERT_FALSE(wrong);
        EXPECT_EQ(wrong.error().code, Errc::auth_failed);
    }
}

TEST(TurnAuth, Rfc5769LongTermKeyAndIntegrity) {
    auto bytes = vector_bytes(test::rfc5769_request_long_term);
    // RFC 5769 §2.4's password "The<U+00AD>M<U+00AA>tr<U+2168>" is "TheMatrIX" after SASLprep.
    auto key = long_term_key(matrix_user, "example.org", "TheMatrIX");
    EXPECT_EQ(key.size(), 16u);
    auto m = stun::decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    auto ok = verify_integrity(bytes, *m, key);
    EXPECT_TRUE(ok) << ok.error().message;

    // Rebuilding the request from its attributes and signing it gives the vector's bytes.
    stun::MessageWriter w(stun::Method::binding, stun::MessageClass::request, m->transaction_id);
    w.add(stun::attr::username, m->find(stun::attr::username)->value);
    w.add(stun::attr::nonce, m->find(stun::attr::nonce)->value);
    w.add(stun::attr::realm, m->find(stun::attr::realm)->value);
    EXPECT_EQ(to_hex(append_integrity(w.finish(false), stun::attr::message_integrity, key)), to_hex(bytes));
}

TEST(TurnAuth, Rfc8489Sha256VectorVerifies) {
    auto bytes = vector_bytes(rfc8489_request_sha256);
    auto m = stun::decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    auto key = long_term_key(matrix_user, "example.org", "TheMatrIX", PasswordAlgorithm::sha256);
    EXPECT_EQ(key.size(), 32u);
    auto ok = verify_integrity(bytes, *m, key);
    EXPECT_TRUE(ok) << ok.error().message;
    EXPECT_FALSE(verify_integrity(bytes, *m, long_term_key(matrix_user, "example.org", "TheMatrIX")));
    bytes[30] ^= 1;  // inside USERHASH
    auto altered = stun::decode(bytes);
    ASSERT_TRUE(altered);
    EXPECT_EQ(verify_integrity(bytes, *altered, key).error().code, Errc::auth_failed);
}

TEST(TurnAuth, SignedRequestsCarryCredentialsAndVerify) {
    auto c = lab_credentials();
    auto bytes = encode(id_of(1), AllocateRequest{std::chrono::seconds(300)}, &c);
    auto m = stun::decode(bytes);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->method, method::allocate);
    EXPECT_EQ(*stun::read_text(*m->find(stun::attr::username)), "test");
    EXPECT_EQ(*stun::read_text(*m->find(stun::attr::realm)), "lab");
    EXPECT_EQ(*stun::read_text(*m->find(stun::attr::nonce)), "nonce-1");
    ASSERT_NE(m->find(stun::attr::message_integrity), nullptr);
    EXPECT_EQ(m->find(stun::attr::message_integrity_sha256), nullptr);
    EXPECT_TRUE(verify_integrity(bytes, *m, c.key));
    EXPECT_EQ(verify_integrity(bytes, *m, long_term_key("test", "lab", "nope")).error().code, Errc::auth_failed);
}

TEST(TurnAuth, PasswordAlgorithmsSwitchToSha256) {
    // RFC 8489 §9.2.4: a server that offers PASSWORD-ALGORITHMS gets them echoed, the chosen
    // PASSWORD-ALGORITHM, and MESSAGE-INTEGRITY-SHA256 only.
    const Bytes offered{0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    auto list = read_password_algorithms({stun::attr::password_algorithms, offered});
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<std::uint16_t>{2, 1}));
    Credentials c{"test", "lab", "n", long_term_key("test", "lab", "test", PasswordAlgorithm::sha256), offered, PasswordAlgorithm::sha256};
    auto bytes = encode(id_of(2), RefreshRequest{std::chrono::seconds(0)}, &c);
    auto m = stun::decode(bytes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->find(stun::attr::message_integrity), nullptr);
    ASSERT_NE(m->find(stun::attr::message_integrity_sha256), nullptr);
    EXPECT_EQ(to_hex(m->find(stun::attr::password_algorithm)->value), "00020000");
    EXPECT_TRUE(verify_integrity(bytes, *m, c.key));
}

TEST(TurnAuth, MalformedPasswordAlgorithmsAndIntegrity) {
    const Bytes truncated{0x00, 0x02, 0x00, 0x08, 0x00};
    EXPECT_FALSE(read_password_algorithms({stun::attr::password_algorithms, truncated}));
    EXPECT_FALSE(read_password_algorithms({stun::attr::password_algorithms, {}}));
    // A MESSAGE-INTEGRITY of 16 bytes is not HMAC-SHA1.
    stun::MessageWriter w(method::refresh, stun::MessageClass::request, id_of(3));
    w.add(stun::attr::message_integrity, Bytes(16, 0));
    auto bytes = w.finish(false);
    auto m = stun::decode(bytes);
    ASSERT_TRUE(m);
    EXPECT_EQ(verify_integrity(bytes, *m, lab_credentials().key).error().code, Errc::malformed);
    auto unsigned_bytes = encode(id_of(3), RefreshRequest{}, nullptr);
    auto plain = stun::decode(unsigned_bytes);
    EXPECT_EQ(verify_integrity(unsigned_bytes, *plain, lab_credentials().key).error().code, Errc::auth_failed);
}

TEST(TurnCodec, RequestsEncodeTheirAttributes) {
    auto allocate = encode(id_of(4), AllocateRequest{std::nullopt, IP4, true}, nullptr);
    auto m = stun::decode(allocate);
    ASSERT_TRUE(m);
    EXPECT_EQ(to_hex(m->find(attr::requested_transport)->value), "11000000");
    EXPECT_EQ(to_hex(m->find(attr::additional_address_family)->value), "02000000");
    EXPECT_EQ(m->find(attr::lifetime), nullptr);

    auto bind = encode(id_of(5), ChannelBindRequest{0x4001, peer}, nullptr);
    m = stun::decode(bind);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->method, method::channel_bind);
    EXPECT_EQ(to_hex(m->find(attr::channel_number)->value), "40010000");
    EXPECT_EQ(*stun::read_xor_address(*m->find(attr::xor_peer_address), m->transaction_id), peer);

    auto permission = encode(id_of(6), CreatePermissionRequest{{peer, peer6}}, nullptr);
    m = stun::decode(permission);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->attributes.size(), 2u);
    EXPECT_EQ(*stun::read_xor_address(m->attributes[1], m->transaction_id), peer6);

    auto refresh = encode(id_of(7), RefreshRequest{std::chrono::seconds(0)}, nullptr);
    m = stun::decode(refresh);
    ASSERT_TRUE(m);
    EXPECT_EQ(to_hex(m->find(attr::lifetime)->value), "00000000");
}

// RFC 6062: a TCP allocation, Connect, ConnectionBind and the ConnectionAttempt indication.
TEST(TurnCodec, TcpAllocationMessages) {
    AllocateRequest tcp_allocate;
    tcp_allocate.relay = TCP;
    // The decoded message is a view of the bytes: they must outlive it.
    auto request = encode(id_of(20), tcp_allocate, nullptr);
    auto m = stun::decode(request);
    ASSERT_TRUE(m);
    EXPECT_EQ(to_hex(m->find(attr::requested_transport)->value), "06000000");

    request = encode(id_of(21), ConnectRequest{peer}, nullptr);
    m = stun::decode(request);
    ASSERT_TRUE(m);
    EXPECT_EQ(static_cast<unsigned>(m->method), 0x00Au);
    EXPECT_EQ(*stun::read_xor_address(*m->find(attr::xor_peer_address), m->transaction_id), peer);

    request = encode(id_of(22), ConnectionBindRequest{0xABCD0102}, nullptr);
    m = stun::decode(request);
    ASSERT_TRUE(m);
    EXPECT_EQ(static_cast<unsigned>(m->method), 0x00Bu);
    EXPECT_EQ(to_hex(m->find(attr::connection_id)->value), "abcd0102");
    EXPECT_EQ(method_name(m->method), "ConnectionBind");

    stun::MessageWriter connected(method::connect, stun::MessageClass::success, id_of(23));
    auto bytes = connected.add(attr::connection_id, Bytes{0, 0, 0, 42}).finish(true);
    EXPECT_EQ(read_connect_success(*stun::decode(bytes)).value_or(0), 42u);
    stun::MessageWriter no_id(method::connect, stun::MessageClass::success, id_of(23));
    bytes = no_id.finish(false);
    EXPECT_EQ(read_connect_success(*stun::decode(bytes)).error().message, "Connect message without CONNECTION-ID");
    stun::MessageWriter short_id(method::connect, stun::MessageClass::success, id_of(23));
    bytes = short_id.add(attr::connection_id, Bytes{0, 0, 42}).finish(false);
    EXPECT_EQ(read_connect_success(*stun::decode(bytes)).error().message, "CONNECTION-ID value is not 4 bytes");

    auto attempt = encode_connection_attempt(id_of(24), ConnectionAttempt{7, peer6});
    EXPECT_EQ(static_cast<unsigned>(stun::decode(attempt)->method), 0x00Cu);
    auto read = read_connection_attempt(*stun::decode(attempt));
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(read->connection_id, 7u);
    EXPECT_EQ(read->peer, peer6);
    stun::MessageWriter no_peer(method::connection_attempt, stun::MessageClass::indication, id_of(25));
    bytes = no_peer.add(attr::connection_id, Bytes{0, 0, 0, 1}).finish(false);
    EXPECT_EQ(read_connection_attempt(*stun::decode(bytes)).error().message, "ConnectionAttempt without XOR-PEER-ADDRESS");
    stun::MessageWriter no_connection(method::connection_attempt, stun::MessageClass::indication, id_of(25));
    bytes = no_connection.add_xor_address(attr::xor_peer_address, peer).finish(false);
    EXPECT_EQ(read_connection_attempt(*stun::decode(bytes)).error().message, "ConnectionAttempt message without CONNECTION-ID");
    stun::MessageWriter as_request(method::connection_attempt, stun::MessageClass::request, id_of(25));
    bytes = as_request.add_xor_address(attr::xor_peer_address, peer).add(attr::connection_id, Bytes{0, 0, 0, 1}).finish(false);
    EXPECT_FALSE(read_connection_attempt(*stun::decode(bytes)));
}

TEST(TurnCodec, SendIndicationReadsBackAsData) {
    const Bytes payload{1, 2, 3, 4, 5};
    auto send = encode_send(id_of(8), peer6, payload);
    auto m = stun::decode(send);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->cls, stun::MessageClass::indication);
    EXPECT_FALSE(read_data_indication(*m));  // a Send, not a Data indication

    stun::MessageWriter w(method::data, stun::MessageClass::indication, id_of(9));
    w.add_xor_address(attr::xor_peer_address, peer6).add(attr::data, payload);
    auto data = w.finish(true);
    m = stun::decode(data);
    ASSERT_TRUE(m);
    auto d = read_data_indication(*m);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->peer, peer6);
    EXPECT_EQ(Bytes(d->data.begin(), d->data.end()), payload);

    stun::MessageWriter no_data(method::data, stun::MessageClass::indication, id_of(9));
    auto bytes = no_data.add_xor_address(attr::xor_peer_address, peer).finish(false);
    EXPECT_FALSE(read_data_indication(*stun::decode(bytes)));
}

TEST(TurnCodec, AllocateSuccessResponse) {
    const Endpoint relayed{asio::ip::make_address("127.0.0.1"), 50000};
    const Endpoint relayed6{asio::ip::make_address("::1"), 50002};
    stun::MessageWriter w(method::allocate, stun::MessageClass::success, id_of(10));
    w.add_xor_address(attr::xor_relayed_address, relayed6).add_xor_address(attr::xor_relayed_address, relayed);
    w.add_xor_address(stun::attr::xor_mapped_address, peer).add(attr::lifetime, Bytes{0, 0, 0x02, 0x58});
    auto bytes = w.finish(false);
    auto a = read_allocate_success(*stun::decode(bytes));
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->relayed, (std::vector<Endpoint>{relayed, relayed6}));  // IPv4 first
    EXPECT_EQ(a->mapped, peer);
    EXPECT_EQ(a->lifetime, std::chrono::seconds(600));

    stun::MessageWriter no_lifetime(method::allocate, stun::MessageClass::success, id_of(10));
    no_lifetime.add_xor_address(attr::xor_relayed_address, relayed).add_xor_address(stun::attr::xor_mapped_address, peer);
    bytes = no_lifetime.finish(false);
    EXPECT_FALSE(read_allocate_success(*stun::decode(bytes)));

    stun::MessageWriter unknown(method::allocate, stun::MessageClass::success, id_of(10));
    unknown.add_xor_address(attr::xor_relayed_address, relayed).add_xor_address(stun::attr::xor_mapped_address, peer);
    unknown.add(attr::lifetime, Bytes{0, 0, 0, 60}).add(0x7777, Bytes{1});
    bytes = unknown.finish(false);
    auto rejected = read_allocate_success(*stun::decode(bytes));
    ASSERT_FALSE(rejected);
    EXPECT_NE(rejected.error().message.find("0x7777"), std::string::npos);

    stun::MessageWriter refresh(method::refresh, stun::MessageClass::success, id_of(11));
    bytes = refresh.add(attr::lifetime, Bytes{0, 0, 0, 0}).finish(false);
    EXPECT_FALSE(read_allocate_success(*stun::decode(bytes)));  // another method
    EXPECT_EQ(*read_refresh_success(*stun::decode(bytes)), std::chrono::seconds(0));
    EXPECT_TRUE(read_empty_success(*stun::decode(bytes), method::refresh));
    EXPECT_FALSE(read_empty_success(*stun::decode(bytes), method::channel_bind));
}

TEST(TurnCodec, ErrorResponseCarriesTheChallenge) {
    stun::MessageWriter w(method::allocate, stun::MessageClass::error, id_of(12));
    w.add_error_code(401, "Unauthorized").add(stun::attr::realm, as_bytes("lab")).add(stun::attr::nonce, as_bytes("abc"));
    auto bytes = w.finish(true);
    auto e = read_error_response(*stun::decode(bytes));
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->code, unauthenticated);
    EXPECT_EQ(e->reason, "Unauthorized");
    EXPECT_EQ(e->realm, "lab");
    EXPECT_EQ(e->nonce, "abc");
    EXPECT_TRUE(e->password_algorithms.empty());

    stun::MessageWriter no_code(method::allocate, stun::MessageClass::error, id_of(12));
    bytes = no_code.finish(false);
    EXPECT_FALSE(read_error_response(*stun::decode(bytes)));
    stun::MessageWriter success(method::allocate, stun::MessageClass::success, id_of(12));
    bytes = success.finish(false);
    EXPECT_FALSE(read_error_response(*stun::decode(bytes)));
}

TEST(TurnCodec, ChannelDataFraming) {
    const Bytes payload{9, 8, 7, 6, 5};
    auto udp = encode_channel_data(0x4000, payload, false);
    EXPECT_EQ(to_hex(udp), "400000050908070605");
    auto tcp = encode_channel_data(0x4FFF, payload, true);
    EXPECT_EQ(to_hex(tcp), "4fff0005090807060500" "0000");
    for (const auto& bytes : {udp, tcp}) {
        auto c = decode_channel_data(bytes);
        ASSERT_TRUE(c) << c.error().message;
        EXPECT_EQ(Bytes(c->data.begin(), c->data.end()), payload);
    }
    EXPECT_EQ(decode_channel_data(tcp)->channel, 0x4FFF);
    EXPECT_EQ(*stream_frame_size(tcp), tcp.size());

    EXPECT_FALSE(decode_channel_data(Bytes{0x40, 0x00, 0x00}));                 // short header
    EXPECT_FALSE(decode_channel_data(Bytes{0x50, 0x00, 0x00, 0x00}));           // reserved channel
    EXPECT_FALSE(decode_channel_data(Bytes{0x3F, 0xFF, 0x00, 0x00}));           // not a channel
    EXPECT_FALSE(decode_channel_data(Bytes{0x40, 0x00, 0x00, 0x02, 0x01}));     // truncated
    EXPECT_FALSE(decode_channel_data(Bytes{0x40, 0x00, 0x00, 0x00, 0, 0, 0, 0}));  // beyond padding
    EXPECT_TRUE(decode_channel_data(Bytes{0x40, 0x00, 0x00, 0x00}));            // empty data is allowed
}

TEST(TurnCodec, StreamFrameSizes) {
    auto request = encode(id_of(13), RefreshRequest{std::chrono::seconds(60)}, nullptr);
    EXPECT_EQ(*stream_frame_size(request), request.size());
    EXPECT_FALSE(stream_frame_size(Bytes{0x01, 0x01, 0x00, 0x03}));  // STUN length not a multiple of 4
    EXPECT_FALSE(stream_frame_size(Bytes{0x80, 0x00, 0x00, 0x00}));  // neither STUN nor ChannelData
    EXPECT_FALSE(stream_frame_size(Bytes{0x40, 0x00}));
    EXPECT_EQ(*stream_frame_size(Bytes{0x40, 0x01, 0x00, 0x01}), 8u);
}
