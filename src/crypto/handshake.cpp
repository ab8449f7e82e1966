#include "crypto/handshake.hpp"

#include <cstring>

#include "crypto/random.hpp"

namespace warpgate::crypto {
namespace {

enum MessageType : std::uint8_t { hello_type = 0x01, reply_type = 0x02 };

// Field offsets shared by hello and reply: version, type, ephemeral key, identity key.
constexpr std::size_t ephemeral_at = 2;
constexpr std::size_t identity_at = ephemeral_at + public_key_size;       // 35
constexpr std::size_t nonce_at = identity_at + public_key_size;           // 68 (hello only)
constexpr std::size_t hello_body_size = nonce_at + hello_nonce_size;      // 100
constexpr std::size_t reply_body_size = identity_at + public_key_size;    // 68
static_assert(hello_size == hello_body_size + signature_size && reply_size == reply_body_size + signature_size);

constexpr std::string_view hello_context = "warpgate-link-v1 hello";
constexpr std::string_view reply_context = "warpgate-link-v1 reply";
constexpr std::string_view transcript_context = "warpgate-link-v1 transcript";
constexpr char initiator_to_responder[] = "warpgate-link-v1 initiator->responder";
constexpr char responder_to_initiator[] = "warpgate-link-v1 responder->initiator";

Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (auto part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

// Checks size, version and type; returns the message's fields.
struct Message {
    ByteView body;       // everything the signature covers from this message
    ByteView ephemeral;
    ByteView identity;
    ByteView signature;
};

Result<Message> parse(ByteView bytes, MessageType type, std::size_t size, const char* name) {
    if (bytes.size() != size)
        return fail(Errc::malformed, std::string("link handshake ") + name + " is " + std::to_string(bytes.size()) +
                                         " bytes, expected " + std::to_string(size));
    if (bytes[0] != handshake_version)
        return fail(Errc::unsupported, "link handshake version " + std::to_string(bytes[0]) +
                                           " (this build speaks " + std::to_string(handshake_version) + ")");
    if (bytes[1] != type)
        return fail(Errc::malformed, std::string("link handshake message type ") + std::to_string(bytes[1]) +
                                         " where a " + name + " was expected");
    std::size_t body = size - signature_size;
    return Message{bytes.first(body), bytes.subspan(ephemeral_at, public_key_size),
                   bytes.subspan(identity_at, public_key_size), bytes.subspan(body)};
}

Result<void> check_signature(const Message& m, std::string_view context, ByteView signed_before,
                             const char* whose) {
    auto identity = parse_public_key(m.identity);
    if (!identity) return fail(Errc::malformed, std::string(whose) + " identity key is invalid");
    if (!verify(*identity, concat({as_bytes(context), signed_before, m.body}), m.signature))
        return fail(Errc::auth_failed, std::string(whose) + " signature over the handshake does not verify (node " +
                                           node_id(m.identity) + ")");
    return {};
}

// shared = ECDH(own ephemeral, peer ephemeral); th = SHA-256(context || hello body || reply body);
// each direction's key = HKDF-SHA256(ikm = shared, salt = th, info = direction label), both
// expanded from one extract (the same ikm and salt give the same PRK).
Result<Keys> derive_keys(const KeyPair& ephemeral, ByteView peer_ephemeral, ByteView hello_body,
                         ByteView reply_body, ByteView peer_identity, bool initiator) {
    auto shared = ephemeral.agree(peer_ephemeral);
    if (!shared) return fail(Errc::malformed, "peer ephemeral key is invalid: " + shared.error().message);
    Keys keys;
    keys.peer_public_key.assign(peer_identity.begin(), peer_identity.end());
    keys.peer_node_id = node_id(peer_identity);
    keys.transcript_hash = sha256(concat({as_bytes(transcript_context), hello_body, reply_body}));
    auto prk = hkdf_extract(keys.transcript_hash, *shared);
    OPENSSL_cleanse(shared->data(), shared->size());
    AeadKey i2r{}, r2i{};
    hkdf_expand(prk, initiator_to_responder, i2r);
    hkdf_expand(prk, responder_to_initiator, r2i);
    OPENSSL_cleanse(prk.data(), prk.size());
    keys.send_key = initiator ? i2r : r2i;
    keys.receive_key = initiator ? r2i : i2r;
    OPENSSL_cleanse(i2r.data(), i2r.size());
    OPENSSL_cleanse(r2i.data(), r2i.size());
    return keys;
}

}  // namespace

Handshake::Handshake(Role role, IdentityKey identity, std::optional<KeyPair> ephemeral)
    : role_(role), identity_(std::move(identity)), ephemeral_(std::move(ephemeral)) {}

Handshake Handshake::initiator(const IdentityKey& identity, ByteView expected_peer_pub) {
    HelloNonce nonce{};
    random_bytes(nonce);
    return initiator(identity, expected_peer_pub, KeyPair::generate(), nonce);
}

Handshake Handshake::initiator(const IdentityKey& identity, ByteView expected_peer_pub, KeyPair ephemeral,
                               const HelloNonce& nonce) {
    Handshake h(Role::initiator, identity, std::move(ephemeral));
    h.expected_peer_.assign(expected_peer_pub.begin(), expected_peer_pub.end());
    h.hello_ = concat({std::array<std::uint8_t, 2>{handshake_version, hello_type}, h.ephemeral_->public_key(),
                       identity.public_key(), nonce});
    Bytes signature = identity.sign(concat({as_bytes(hello_context), h.hello_}));
    h.hello_.insert(h.hello_.end(), signature.begin(), signature.end());
    return h;
}

Handshake Handshake::responder(const IdentityKey& identity) { return Handshake(Role::responder, identity, {}); }

Handshake Handshake::responder(const IdentityKey& identity, KeyPair ephemeral) {
    return Handshake(Role::responder, identity, std::move(ephemeral));
}

Result<Keys> Handshake::on_reply(ByteView reply) const {
    if (role_ != Role::initiator) return fail(Errc::unsupported, "on_reply called on the responder's handshake");
    auto message = parse(reply, reply_type, reply_size, "reply");
    if (!message) return tl::unexpected(message.error());
    ByteView hello_body = ByteView(hello_).first(hello_body_size);
    if (auto ok = check_signature(*message, reply_context, hello_body, "responder's"); !ok)
        return tl::unexpected(ok.error());
    // The signature proves who answered; this proves it is who we dialled (a man in the middle
    // can sign with its own key, but not with the dialled node's).
    if (!std::ranges::equal(message->identity, expected_peer_))
        return fail(Errc::auth_failed, "the node that answered (" + node_id(message->identity) +
                                           ") is not the dialled node (" + node_id(expected_peer_) + ")");
    return derive_keys(*ephemeral_, message->ephemeral, hello_body, message->body, message->identity, true);
}

Result<std::pair<Bytes, Keys>> Handshake::on_hello(ByteView hello) const {
    if (role_ != Role::responder) return fail(Errc::unsupported, "on_hello called on the initiator's handshake");
    auto message = parse(hello, hello_type, hello_size, "hello");
    if (!message) return tl::unexpected(message.error());
    if (auto ok = check_signature(*message, hello_context, {}, "initiator's"); !ok) return tl::unexpected(ok.error());

    KeyPair ephemeral = ephemeral_ ? *ephemeral_ : KeyPair::generate();
    Bytes reply = concat({std::array<std::uint8_t, 2>{handshake_version, reply_type}, ephemeral.public_key(),
                          identity_.public_key()});
    Bytes signature = identity_.sign(concat({as_bytes(reply_context), message->body, reply}));
    auto keys = derive_keys(ephemeral, message->ephemeral, message->body, reply, message->identity, false);
    if (!keys) return tl::unexpected(keys.error());
    reply.insert(reply.end(), signature.begin(), signature.end());
    return std::pair{std::move(reply), std::move(*keys)};
}

}  // namespace warpgate::crypto
