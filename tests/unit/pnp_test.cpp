// PNP codec (src/proto/pnp.hpp): the vectors of docs/pnp.md, round trips, and every refusal
// of the strict decoders.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <warpgate/config.hpp>

#include "crypto/identity.hpp"
#include "proto/pnp.hpp"

namespace warpgate::pnp {
namespace {

// docs/pnp.md "Test vectors": server scalar 0x33 x32, owner scalar 0x11 x32, request id 0xa1
// x16, reply key 0x42 x32, reply nonce 0x24 x12.
constexpr std::string_view request_plaintext_vector =
    "01a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1424242424242424242424242424242424242424242424242424242424242424201034f"
    "355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa0000019ad7358400003c05616c696365000a776731"
    "6578616d706c65895b9b832279cda3fa17e62ff37005c6fa987524317e89a85f89a79b6cbaf3c2194f528b38d29bb7328ac08ff3"
    "e1f39bcbf18230d08073cedc34efb4e29c450b";
constexpr std::string_view sealed_request_vector =
    "0103df940fd4d3d6872946090e5847ab6e15451a29a088029436e408d03d67d30d33e423f0513322502350cadb666889952252f0"
    "24b29b1c224b8ce5468955fb4cb9c23e61d8b438787dafccd922110957d843d962b1faa68f2ab73e3e0272e13b1aab0693cf683e"
    "272af5a6440d0cdb5fac576f803cd768cf992f3cf0b2c513716da3fda35480eeb5d3b7b5f6acda6a8f3de757103ca44610a04dae"
    "fb9ffa467bd721c607ba6359edec17cf01dc953cdc12293be4c1f0ea1d1aa9556b57afd10590dc8157069dbb71fe05bf43f0f5e5"
    "7d4e104aaa76fa06a741351aa01ed72764";
constexpr std::string_view ok_reply_vector =
    "01a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1242424242424242424242424e407850f7138f030854a8bc4d14cc12f33c3be99491f9a"
    "8eb76718423cdd001b0d69f81553908645b3822ae15ab639eab869e65b48eb00a85390855101ba595e4b645eb565e6a026";
constexpr std::string_view not_found_reply_vector =
    "01a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1242424242424242424242424e207850eebde58a8856b888beb7972b891a824d4860435"
    "5bbf59ed0d5d39da526b1faa0ecb2aacd4a5855909";
constexpr std::uint64_t vector_timestamp_ms = 1764547200000ull;
constexpr std::uint64_t vector_expires_ms = 1764806400000ull;

const crypto::IdentityKey& server_key() {
    static const auto key = *crypto::IdentityKey::from_private_bytes(Bytes(32, 0x33));
    return key;
}
const crypto::IdentityKey& owner_key() {
    static const auto key = *crypto::IdentityKey::from_private_bytes(Bytes(32, 0x11));
    return key;
}

crypto::AeadKey vector_reply_key() {
    crypto::AeadKey k;
    k.fill(0x42);
    return k;
}

Request vector_request() {
    Request q;
    q.id.fill(0xa1);
    q.reply_key = vector_reply_key();
    q.op = Op::register_name;
    q.owner = owner_key().public_key();
    q.timestamp_ms = vector_timestamp_ms;
    q.lifetime_s = 60;
    q.name = "alice";
    q.value = to_bytes("wg1example");
    return q;
}

void expect_vector_request(const Request& q) {
    auto want = vector_request();
    EXPECT_EQ(q.id, want.id);
    EXPECT_EQ(q.reply_key, want.reply_key);
    EXPECT_EQ(q.op, Op::register_name);
    EXPECT_EQ(q.owner, want.owner);
    EXPECT_EQ(q.timestamp_ms, vector_timestamp_ms);
    EXPECT_EQ(q.lifetime_s, 60);
    EXPECT_EQ(q.name, "alice");
    EXPECT_EQ(q.value, want.value);
}

TEST(PnpVectors, RequestPlaintextDecodesAndVerifies) {
    auto q = decode_request(from_hex(request_plaintext_vector), server_key().public_key());
    ASSERT_TRUE(q) << q.error().message;
    expect_vector_request(*q);
}

TEST(PnpVectors, RequestBodyIsTheDocumentedLayout) {
    // The signature is ECDSA with a random k: the body before it is fixed, the 64 bytes are not.
    auto plain = encode_request(vector_request(), server_key().public_key(), owner_key());
    auto vector = from_hex(request_plaintext_vector);
    ASSERT_EQ(plain.size(), vector.size());
    EXPECT_EQ(to_hex(ByteView(plain).first(plain.size() - 64)), to_hex(ByteView(vector).first(vector.size() - 64)));
}

TEST(PnpVectors, SealedRequestOpensWithTheServerKey) {
    auto plain = open_request(server_key(), from_hex(sealed_request_vector));
    ASSERT_TRUE(plain) << plain.error().message;
    auto q = decode_request(*plain, server_key().public_key());
    ASSERT_TRUE(q) << q.error().message;
    expect_vector_request(*q);
}

TEST(PnpVectors, RepliesAreByteExact) {
    crypto::AeadNonce nonce;
    nonce.fill(0x24);
    Reply ok;
    ok.id.fill(0xa1);
    ok.expires_ms = vector_expires_ms;
    ok.owner = owner_key().public_key();
    ok.detail = "registered";
    EXPECT_EQ(to_hex(seal_reply(ok, vector_reply_key(), nonce)), ok_reply_vector);
    Reply missing;
    missing.id.fill(0xa1);
    missing.status = Status::not_found;
    missing.detail = "no name 'alice'";
    EXPECT_EQ(to_hex(seal_reply(missing, vector_reply_key(), nonce)), not_found_reply_vector);

    auto opened = open_reply(from_hex(not_found_reply_vector), vector_reply_key());
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(opened->status, Status::not_found);
    EXPECT_EQ(opened->detail, "no name 'alice'");
    EXPECT_TRUE(opened->owner.empty());
}

TEST(PnpRequest, ForgedSignatureIsRefused) {
    auto forger = crypto::IdentityKey::generate();
    auto plain = encode_request(vector_request(), server_key().public_key(), forger);  // claims owner_key
    auto q = decode_request(plain, server_key().public_key());
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code, Errc::auth_failed);
}

TEST(PnpRequest, SignatureIsBoundToTheServer) {
    auto plain = encode_request(vector_request(), server_key().public_key(), owner_key());
    auto other = crypto::IdentityKey::generate();
    auto q = decode_request(plain, other.public_key());
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code, Errc::auth_failed);
}

TEST(PnpRequest, EveryTruncationAndTrailingByteIsMalformed) {
    auto plain = encode_request(vector_request(), server_key().public_key(), owner_key());
    for (std::size_t n = 0; n < plain.size(); ++n) {
        auto q = decode_request(ByteView(plain).first(n), server_key().public_key());
        ASSERT_FALSE(q) << n;
    }
    plain.push_back(0);
    EXPECT_FALSE(decode_request(plain, server_key().public_key()));
}

Result<Request> decode_altered(void (*alter)(Request&)) {
    auto q = vector_request();
    alter(q);
    return decode_request(encode_request(q, server_key().public_key(), owner_key()), server_key().public_key());
}

TEST(PnpRequest, FieldRulesAreChecked) {
    auto bad_name = decode_altered([](Request& q) { q.name = "Alice"; });
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().code, Errc::malformed);
    EXPECT_NE(bad_name.error().message.find("name"), std::string::npos);
    EXPECT_FALSE(decode_altered([](Request& q) { q.name = "-alice"; }));
    EXPECT_FALSE(decode_altered([](Request& q) { q.name = std::string(64, 'a'); }));
    EXPECT_FALSE(decode_altered([](Request& q) { q.lifetime_s = 0; }));
    EXPECT_FALSE(decode_altered([](Request& q) { q.lifetime_s = max_lifetime_s + 1; }));
    EXPECT_FALSE(decode_altered([](Request& q) { q.value.clear(); }));
    EXPECT_FALSE(decode_altered([](Request& q) { q.value.assign(max_value_size + 1, 'x'); }));
    EXPECT_FALSE(decode_altered([](Request& q) { q.op = Op::lookup; }));  // a lookup with a value
    EXPECT_FALSE(decode_altered([](Request& q) { q.op = static_cast<Op>(9); }));
    auto lookup = decode_altered([](Request& q) {
        q.op = Op::lookup;
        q.value.clear();
    });
    EXPECT_TRUE(lookup) << lookup.error().message;
    auto version = from_hex(request_plaintext_vector);
    version[0] = 2;
    auto unsupported = decode_request(version, server_key().public_key());
    ASSERT_FALSE(unsupported);
    EXPECT_EQ(unsupported.error().code, Errc::unsupported);
}

TEST(PnpRequest, ReplyRouteNeedsIdAndKey) {
    auto plain = from_hex(request_plaintext_vector);
    auto route = reply_route(plain);
    ASSERT_TRUE(route);
    EXPECT_EQ(route->first, vector_request().id);
    EXPECT_EQ(route->second, vector_reply_key());
    EXPECT_FALSE(reply_route(ByteView(plain).first(48)));
    plain[0] = 7;
    EXPECT_FALSE(reply_route(plain));
}

TEST(PnpRequest, SealedToAnotherServerDoesNotOpen) {
    auto other = crypto::IdentityKey::generate();
    auto sealed = seal_request(vector_request(), other.public_key(), owner_key());
    ASSERT_TRUE(sealed);
    EXPECT_FALSE(open_request(server_key(), *sealed));
    EXPECT_FALSE(open_request(server_key(), Bytes(max_message_size + 1, 1)));
}

TEST(PnpReply, TamperingOrAnotherKeyFailsAuthentication) {
    auto sealed = from_hex(ok_reply_vector);
    auto opened = open_reply(sealed, vector_reply_key());
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(opened->status, Status::ok);
    EXPECT_EQ(opened->expires_ms, vector_expires_ms);
    EXPECT_EQ(opened->owner, owner_key().public_key());
    EXPECT_EQ(opened->detail, "registered");
    EXPECT_EQ(reply_id(sealed), vector_request().id);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        auto copy = sealed;
        copy[i] ^= 0x01;
        auto r = open_reply(copy, vector_reply_key());
        ASSERT_FALSE(r) << i;
    }
    auto wrong = vector_reply_key();
    wrong[0] ^= 1;
    auto r = open_reply(sealed, wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::auth_failed);
    EXPECT_FALSE(open_reply(ByteView(sealed).first(reply_header_size + 15), vector_reply_key()));
}

TEST(PnpFraming, LengthIsBounded) {
    auto framed = frame(to_bytes("abc"));
    EXPECT_EQ(to_hex(framed), "0003616263");
    EXPECT_EQ(frame_length(ByteView(framed).first(2)), 3u);
    EXPECT_FALSE(frame_length(from_hex("0000")));
    EXPECT_FALSE(frame_length(from_hex("1001")));  // 4097
    EXPECT_TRUE(frame_length(from_hex("1000")));   // 4096
    EXPECT_FALSE(frame_length(from_hex("00")));
}

TEST(PnpNames, NormaliseAndTld) {
    EXPECT_EQ(normalise_name("Alice-2"), "alice-2");
    EXPECT_FALSE(normalise_name("al ice"));
    EXPECT_FALSE(normalise_name(""));
    EXPECT_EQ(tld({Bytes(33, 2)}), ".p2p");
    auto two = tld({Bytes(33, 2), Bytes(33, 3)});
    EXPECT_TRUE(two.starts_with(".p2p-")) << two;
    EXPECT_EQ(two.size(), 13u);
    EXPECT_EQ(two, tld({Bytes(33, 3), Bytes(33, 2)}));  // the order of the list does not matter
    EXPECT_EQ(strip_tld("Alice.P2P", ".p2p"), "alice");
    EXPECT_EQ(strip_tld("alice", ".p2p"), "alice");
    auto wrong = strip_tld("alice.com", ".p2p");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, Errc::config);
}

TEST(PnpConfig, NicknameServersAreHostPortAndKey) {
    auto key = std::string(owner_key().public_key().size() * 2, '0');
    auto text = "127.0.0.1:5300=" + to_hex(owner_key().public_key());
    auto server = NicknameServer::parse(text);
    ASSERT_TRUE(server) << server.error().message;
    EXPECT_EQ(server->server.port, 5300);
    EXPECT_EQ(server->public_key, owner_key().public_key());
    EXPECT_EQ(server->to_string(), text);
    EXPECT_FALSE(NicknameServer::parse("127.0.0.1:5300"));                   // no key
    EXPECT_FALSE(NicknameServer::parse("127.0.0.1:5300=" + key));            // not a compressed point prefix
    EXPECT_FALSE(NicknameServer::parse("127.0.0.1:5300=02abcd"));            // too short
    auto conf = NodeConfig::test();
    ASSERT_TRUE(conf.apply(nlohmann::json{{"nickname_servers", {text}}, {"nickname", "alice"}}));
    EXPECT_EQ(conf.nickname_servers.at(0), *server);
    EXPECT_EQ(conf.nickname, "alice");
    EXPECT_EQ(conf.to_json()["nickname_servers"][0], text);
    EXPECT_FALSE(conf.apply(nlohmann::json{{"nickname_servers", {"127.0.0.1:5300"}}}));
}

}  // namespace
}  // namespace warpgate::pnp
