#include "traversal/punch_probe.hpp"

#include <algorithm>

#include "crypto/random.hpp"

namespace warpgate::traversal {
namespace {

crypto::AeadNonce nonce_of(const session::Punch& p) {
    crypto::AeadNonce n{};
    n[0] = static_cast<std::uint8_t>(p.kind);
    n[1] = static_cast<std::uint8_t>(p.role);
    std::copy(p.nonce.begin(), p.nonce.end(), n.begin() + 4);
    return n;
}

}  // namespace

PunchSecret PunchSecret::random() {
    PunchSecret s;
    crypto::random_bytes(s.token);
    crypto::random_private_bytes(s.key);
    return s;
}

PunchAuth::PunchAuth(const PunchSecret& secret, session::Punch::Role role)
    : token_(secret.token), role_(role), seal_(secret.key, crypto::Aead::Direction::seal), open_(secret.key, crypto::Aead::Direction::open) {}

Bytes PunchAuth::make(session::Punch punch) {
    punch.token = token_;
    auto record = session::encode_punch(punch);
    seal_.seal(nonce_of(punch), ByteView(record).first(session::punch_auth_size), {}, punch.tag);
    std::copy(punch.tag.begin(), punch.tag.end(), record.begin() + session::punch_auth_size);
    return record;
}

Bytes PunchAuth::probe(std::size_t via, const Endpoint& to) {
    session::Punch p;
    p.kind = session::Punch::Kind::probe;
    p.role = role_;
    crypto::random_bytes(p.nonce);
    // Forgotten wholesale when full: a confirmation comes within a round trip of its probe,
    // and the probes after it are remembered anew.
    if (sent_.size() >= max_remembered) sent_.clear();
    sent_[p.nonce] = {via, to};
    return make(p);
}

Bytes PunchAuth::confirm(const session::Punch& probe) {
    session::Punch p;
    p.kind = session::Punch::Kind::confirm;
    p.role = role_;
    p.nonce = probe.nonce;
    return make(p);
}

std::optional<session::Punch> PunchAuth::open(ByteView record, std::size_t via, const Endpoint& from) {
    auto punch = session::decode_punch(record);
    if (!punch || punch->token != token_ || punch->role == role_) return std::nullopt;
    std::array<std::uint8_t, 0> plaintext{};
    if (!open_.open(nonce_of(*punch), record.first(session::punch_auth_size), punch->tag, plaintext)) return std::nullopt;
    if (punch->kind == session::Punch::Kind::confirm) {
        auto it = sent_.find(punch->nonce);
        if (it == sent_.end() || it->second.first != via || !(it->second.second == from)) return std::nullopt;
    }
    return *punch;
}

}  // namespace warpgate::traversal
