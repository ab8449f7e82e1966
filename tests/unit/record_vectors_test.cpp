// The session record test vectors printed in docs/link-handshake.md ("Record test vectors"):
// fixed ids, the handshake vectors' hello and reply, and records sealed with the vector keys.
// Each record is built by the codec and compared with the literal hex, then decoded back. The
// hex is also what the independent scripts/crypto_vectors.py prints.
#include <gtest/gtest.h>

#include "crypto/secure_channel.hpp"
#include "session/record.hpp"
#include "support/crypto_vectors.hpp"

using namespace warpgate;
using namespace warpgate::session;
namespace vectors = warpgate::test::vectors;

namespace {

constexpr SessionId initiator_id = 0x11223344;
constexpr SessionId responder_id = 0x55667788;

// The documented hex, one record each.
constexpr std::string_view secure_hello_hex =
    "d1010111223344000102030405060708090a0b0c0d0e0f"
    "010102466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27034f355bdcb7cc0af728ef3cceb9615d9068"
    "4bb5b2ca5f859ab0f0b704075871aa5555555555555555555555555555555555555555555555555555555555555555"
    "4fe3154fc8aeb2178fdee44ee2cb56ab9a14e9de48a2a6bb05c9436af7e00a1122007eda9ed810a071756ced5cc9fc74cd370d21a2"
    "bad4d9cc4f28a9eab25855";
constexpr std::string_view plain_hello_hex = "d1010011223344000102030405060708090a0b0c0d0e0f";
constexpr std::string_view secure_reply_hex =
    "d2112233445566778801"
    "0102032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991023c72addb4fdf09af94f0c94d7fe92a386a"
    "7e70cf8a1d85916386bb2535c7b1b1"
    "147d3eb3331c956054280f530df519efb7e120ef45c24a1d5b1a0fae6e0f42047ab5fab556d2fe369e68e7ac40689fd61515b64cd3"
    "40d8b930e2357105284beb";
constexpr std::string_view refuse_hex = "d511223344656e6372797074696f6e207265717569726564";
constexpr std::string_view confirm_i2r_0_hex = "d3556677880000000000000000e98da973b787c7b9027ccc3d37c17a6843";
constexpr std::string_view data_i2r_0_hex = "d3556677880000000000000000edeae4659951936d9649ceaf6afc245ad6161c";
constexpr std::string_view confirm_ack_r2i_0_hex = "d31122334400000000000000001ee63b9c5e9444700052d756102ca9a8a3";
constexpr std::string_view plain_data_hex = "d45566778800" "6869";
constexpr std::string_view tcp_data_i2r_0_hex = "00000020d3556677880000000000000000edeae4659951936d9649ceaf6afc245ad6161c";

crypto::AeadKey key_of(std::string_view hex) {
    crypto::AeadKey key{};
    Bytes bytes = from_hex(hex);
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return key;
}

crypto::SecureChannel initiator_channel() {
    return {{{}, "", key_of(vectors::key_initiator_to_responder), key_of(vectors::key_responder_to_initiator), {}},
            crypto::ChannelMode::stream};
}
crypto::SecureChannel responder_channel() {
    return {{{}, "", key_of(vectors::key_responder_to_initiator), key_of(vectors::key_initiator_to_responder), {}},
            crypto::ChannelMode::stream};
}

ConnectionId fixed_con_id() {
    ConnectionId id{};
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i);
    return id;
}

// type | receiver id | channel record of (kind | body): the layout docs/link-handshake.md gives.
Bytes sealed_record(crypto::SecureChannel& channel, SessionId receiver, Kind kind, ByteView body) {
    Bytes inner{static_cast<std::uint8_t>(kind)};
    inner.insert(inner.end(), body.begin(), body.end());
    Bytes record(sealed_prefix);
    record[0] = static_cast<std::uint8_t>(RecordType::sealed);
    put_id(record.data() + 1, receiver);
    auto sealed = channel.seal(inner);
    record.insert(record.end(), sealed.begin(), sealed.end());
    return record;
}

// Opens a sealed record's channel part with `channel`; the inner kind and body as text.
std::string open_sealed(crypto::SecureChannel& channel, std::string_view hex, Kind& kind) {
    Bytes record = from_hex(hex);
    auto opened = channel.open_in_place(std::span<std::uint8_t>(record).subspan(sealed_prefix));
    if (!opened) return "error: " + opened.error().message;
    auto inner = decode_inner(*opened);
    if (!inner) return "error: " + inner.error().message;
    kind = inner->kind;
    return std::string(as_chars(inner->body));
}

}  // namespace

TEST(RecordVectors, Hello) {
    Hello hello;
    hello.sender = initiator_id;
    hello.con_id = fixed_con_id();
    hello.handshake = from_hex(vectors::hello);
    EXPECT_EQ(to_hex(encode_hello(hello)), secure_hello_hex);
    EXPECT_EQ(from_hex(secure_hello_hex).size(), 187u);

    hello.secure = false;
    hello.handshake.clear();
    EXPECT_EQ(to_hex(encode_hello(hello)), plain_hello_hex);

    auto back = decode_hello(from_hex(secure_hello_hex));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->sender, initiator_id);
    EXPECT_EQ(back->con_id, fixed_con_id());
    EXPECT_TRUE(back->secure);
    EXPECT_EQ(to_hex(back->handshake), vectors::hello);
    EXPECT_EQ(receiver_of(from_hex(secure_hello_hex)), std::nullopt);  // a hello names no session yet
}

TEST(RecordVectors, Reply) {
    Reply reply;
    reply.receiver = initiator_id;
    reply.sender = responder_id;
    reply.handshake = from_hex(vectors::reply);
    EXPECT_EQ(to_hex(encode_reply(reply)), secure_reply_hex);
    EXPECT_EQ(from_hex(secure_reply_hex).size(), 142u);

    auto back = decode_reply(from_hex(secure_reply_hex));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->receiver, initiator_id);
    EXPECT_EQ(back->sender, responder_id);
    EXPECT_EQ(to_hex(back->handshake), vectors::reply);
    EXPECT_EQ(receiver_of(from_hex(secure_reply_hex)), initiator_id);
}

TEST(RecordVectors, Refuse) {
    EXPECT_EQ(to_hex(encode_refuse({initiator_id, "encryption required"})), refuse_hex);
    auto back = decode_refuse(from_hex(refuse_hex));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->receiver, initiator_id);
    EXPECT_EQ(back->reason, "encryption required");
    EXPECT_EQ(receiver_of(from_hex(refuse_hex)), initiator_id);
}

TEST(RecordVectors, SealedRecords) {
    // Each direction's first record has counter 0; the initiator's is its key confirmation.
    auto initiator = initiator_channel();
    EXPECT_EQ(to_hex(sealed_record(initiator, responder_id, Kind::confirm, {})), confirm_i2r_0_hex);
    auto fresh_initiator = initiator_channel();
    EXPECT_EQ(to_hex(sealed_record(fresh_initiator, responder_id, Kind::data, as_bytes("hi"))), data_i2r_0_hex);
    auto responder = responder_channel();
    EXPECT_EQ(to_hex(sealed_record(responder, initiator_id, Kind::confirm_ack, {})), confirm_ack_r2i_0_hex);

    // The other side opens them with its own keys.
    Kind kind{};
    auto at_responder = responder_channel();
    EXPECT_EQ(open_sealed(at_responder, confirm_i2r_0_hex, kind), "");
    EXPECT_EQ(kind, Kind::confirm);
    auto other_responder = responder_channel();
    EXPECT_EQ(open_sealed(other_responder, data_i2r_0_hex, kind), "hi");
    EXPECT_EQ(kind, Kind::data);
    auto at_initiator = initiator_channel();
    EXPECT_EQ(open_sealed(at_initiator, confirm_ack_r2i_0_hex, kind), "");
    EXPECT_EQ(kind, Kind::confirm_ack);
    EXPECT_EQ(receiver_of(from_hex(data_i2r_0_hex)), responder_id);

    // Reflected back to its sender, a record does not open (each direction has its own key).
    auto reflected = initiator_channel();
    EXPECT_NE(open_sealed(reflected, data_i2r_0_hex, kind).rfind("error: ", 0), std::string::npos);
}

TEST(RecordVectors, PlainRecordAndTcpLengthPrefix) {
    EXPECT_EQ(to_hex(encode_plain(responder_id, Kind::data, as_bytes("hi"))), plain_data_hex);

    Bytes record = from_hex(data_i2r_0_hex);
    auto prefix = encode_length(record.size());
    Bytes framed(prefix.begin(), prefix.end());
    framed.insert(framed.end(), record.begin(), record.end());
    EXPECT_EQ(to_hex(framed), tcp_data_i2r_0_hex);
    auto length = decode_length(std::span<const std::uint8_t, tcp_length_size>(framed.data(), tcp_length_size),
                                max_introduction_record);
    ASSERT_TRUE(length) << length.error().message;
    EXPECT_EQ(*length, record.size());
}
