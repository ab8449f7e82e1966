// Feeds arbitrary bytes to every PNP decoder: sealed requests, request plaintexts, replies and
// TCP frame headers. None may crash or over-read; what a decoder accepts must re-encode to
// the same bytes (the codec is canonical).
#include <cstdio>
#include <cstdlib>

#include "proto/pnp.hpp"

using namespace warpgate;

namespace {

void check(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "pnp_fuzz: %s\n", what);
    std::abort();
}

const crypto::IdentityKey& server() {
    static const auto key = *crypto::IdentityKey::from_private_bytes(Bytes(32, 0x33));
    return key;
}

crypto::AeadKey reply_key() {
    crypto::AeadKey k;
    k.fill(0x42);
    return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    (void)pnp::open_request(server(), input);
    (void)pnp::reply_route(input);
    if (auto q = pnp::decode_request(input, server().public_key())) {
        check(pnp::valid_name(q->name), "accepted an invalid name");
        check(q->owner.size() == crypto::public_key_size, "accepted a short owner key");
        check(q->value.size() <= pnp::max_value_size, "accepted an oversized value");
        check(q->lifetime_s >= 1 && q->lifetime_s <= pnp::max_lifetime_s, "accepted a lifetime out of range");
    }
    if (auto r = pnp::open_reply(input, reply_key())) {
        crypto::AeadNonce nonce{};
        std::copy_n(input.begin() + 1 + pnp::request_id_size, nonce.size(), nonce.begin());
        check(pnp::seal_reply(*r, reply_key(), nonce) == Bytes(input.begin(), input.end()), "reply did not round-trip");
    }
    // The input as a reply body, sealed the way a server does (docs/pnp.md), so the body
    // parser sees arbitrary bytes behind a valid tag.
    if (size + pnp::reply_header_size + crypto::aead_tag_size <= pnp::max_message_size) {
        Bytes sealed(pnp::reply_header_size + size + crypto::aead_tag_size, 0);
        sealed[0] = pnp::version;
        Bytes aad = to_bytes("warpgate-pnp-reply-v1");
        aad.insert(aad.end(), sealed.begin(), sealed.begin() + pnp::reply_header_size);
        crypto::Aead(reply_key(), crypto::Aead::Direction::seal)
            .seal(crypto::AeadNonce{}, aad, input, std::span(sealed).subspan(pnp::reply_header_size));
        if (auto r = pnp::open_reply(sealed, reply_key())) {
            check(r->owner.empty() || r->owner.size() == crypto::public_key_size, "accepted an owner key of another size");
            check(pnp::seal_reply(*r, reply_key(), crypto::AeadNonce{}) == sealed, "reply body did not round-trip");
        }
    }
    if (size >= pnp::frame_header_size)
        if (auto n = pnp::frame_length(input.first(pnp::frame_header_size))) check(*n >= 1 && *n <= pnp::max_message_size, "frame length out of range");
    return 0;
}
