#include "signal/signal_message.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "crypto/random.hpp"
#include "crypto/seal.hpp"
#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::signal {
namespace {

constexpr std::string_view seal_aad = "warpgate-signal-v1";

ByteView aad() { return as_bytes(seal_aad); }

bool valid_type(std::uint8_t t) {
    return t == std::uint8_t(SignalType::text) || t == std::uint8_t(SignalType::connect_back) || t == std::uint8_t(SignalType::tcp_punch) ||
           t == std::uint8_t(SignalType::udp_punch) || t == std::uint8_t(SignalType::turn);
}

}  // namespace

std::uint64_t to_unix_ms(SystemClock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

Bytes encode_envelope(const SignalMessage& m, const crypto::IdentityKey& signer) {
    net::ByteWriter w;
    w.u8(envelope_version);
    w.u8(static_cast<std::uint8_t>(m.type));
    w.bytes(m.sender);
    w.bytes(as_bytes(m.recipient));
    w.u64(m.timestamp_ms);
    w.bytes(m.nonce);
    w.varint32(static_cast<std::uint32_t>(m.payload.size()));
    w.bytes(m.payload);
    auto body = std::move(w).take();
    auto signature = signer.sign(body);
    body.insert(body.end(), signature.begin(), signature.end());
    return body;
}

Result<SignalMessage> decode_envelope(ByteView envelope) {
    if (envelope.size() < crypto::signature_size) return fail(Errc::malformed, "signal envelope: shorter than a signature");
    auto body = envelope.first(envelope.size() - crypto::signature_size);
    auto signature = envelope.last(crypto::signature_size);
    net::ByteReader r(body, "signal envelope");
    SignalMessage m;
    auto version = r.u8("version");
    if (r.ok() && version != envelope_version)
        r.reject(0, fmt::format("version {} (this build reads {})", version, envelope_version), Errc::unsupported);
    auto type = r.u8("type");
    if (r.ok() && !valid_type(type)) r.reject(1, fmt::format("unknown message type {}", type));
    m.type = static_cast<SignalType>(type);
    auto sender = r.bytes(crypto::public_key_size, "sender key");
    m.sender.assign(sender.begin(), sender.end());
    auto recipient = r.bytes(crypto::node_id_size, "recipient node id");
    m.recipient = as_chars(recipient);
    m.timestamp_ms = r.u64("timestamp");
    m.nonce = r.array<16>("nonce");
    auto payload_size = r.varint32("payload length");
    auto payload = r.bytes(payload_size, "payload");
    m.payload.assign(payload.begin(), payload.end());
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    if (!crypto::verify(m.sender, body, signature))
        return fail(Errc::auth_failed, "signal envelope: signature does not match the claimed sender's key");
    return m;
}

Result<Bytes> seal_envelope(ByteView recipient_pub, ByteView envelope) {
    auto sealed = crypto::seal(recipient_pub, envelope, aad());
    if (sealed && sealed->size() > max_sealed_size)
        return fail(Errc::config, fmt::format("signal message of {} bytes exceeds {} bytes", sealed->size(), max_sealed_size));
    return sealed;
}

Result<Bytes> seal_signal(const crypto::IdentityKey& sender, ByteView recipient_pub, SignalType type, ByteView payload,
                          SystemClock::time_point now) {
    SignalMessage m;
    m.type = type;
    m.sender = sender.public_key();
    m.recipient = crypto::node_id(recipient_pub);
    m.timestamp_ms = to_unix_ms(now);
    crypto::random_bytes(m.nonce);
    m.payload.assign(payload.begin(), payload.end());
    return seal_envelope(recipient_pub, encode_envelope(m, sender));
}

Result<SignalMessage> open_signal(const crypto::IdentityKey& me, ByteView sealed) {
    auto envelope = crypto::open(me, sealed, aad());
    if (!envelope) return tl::unexpected(envelope.error());
    auto m = decode_envelope(*envelope);
    if (!m) return m;
    auto mine = crypto::node_id(me.public_key());
    if (m->recipient != mine)
        return fail(Errc::auth_failed, "signal message addressed to node " + m->recipient + ", not to this node " + mine);
    return m;
}

Result<std::vector<Bytes>> split(ByteView sealed, const MessageId& id) {
    if (sealed.empty() || sealed.size() > max_sealed_size)
        return fail(Errc::config, fmt::format("cannot split {} bytes into at most {} chunks", sealed.size(), max_chunks));
    auto count = (sealed.size() + chunk_data_size - 1) / chunk_data_size;
    std::vector<Bytes> chunks;
    for (std::size_t i = 0; i < count; ++i) {
        net::ByteWriter w;
        w.u8(chunk_version);
        w.bytes(id);
        w.u16(static_cast<std::uint16_t>(i));
        w.u16(static_cast<std::uint16_t>(count));
        w.bytes(sealed.subspan(i * chunk_data_size, std::min(chunk_data_size, sealed.size() - i * chunk_data_size)));
        chunks.push_back(std::move(w).take());
    }
    return chunks;
}

Result<std::optional<Bytes>> Reassembler::add(ByteView chunk, std::chrono::steady_clock::time_point now) {
    net::ByteReader r(chunk, "signal chunk");
    auto version = r.u8("version");
    if (r.ok() && version != chunk_version)
        r.reject(0, fmt::format("version {} (this build reads {})", version, chunk_version), Errc::unsupported);
    auto id = r.array<8>("message id");
    auto index = r.u16("index");
    auto count = r.u16("count");
    if (r.ok() && (count == 0 || count > max_chunks)) r.reject(11, fmt::format("count {} not in 1..{}", count, max_chunks));
    if (r.ok() && index >= count) r.reject(9, fmt::format("index {} not below count {}", index, count));
    auto data = r.bytes(r.remaining(), "data");
    if (r.ok() && (data.empty() || data.size() > chunk_data_size))
        r.reject(chunk_header_size, fmt::format("{} data bytes, not 1..{}", data.size(), chunk_data_size));
    if (r.ok() && index + 1 < count && data.size() != chunk_data_size)
        r.reject(chunk_header_size, "a chunk before the last one is not full");
    if (!r.ok()) return tl::unexpected(r.error());

    std::erase_if(partial_, [&](const auto& entry) { return now - entry.second.first_seen > expiry_; });
    if (count == 1) return std::optional<Bytes>(Bytes(data.begin(), data.end()));

    auto it = partial_.find(id);
    if (it == partial_.end()) {
        if (partial_.size() >= max_pending) {
            auto oldest = std::min_element(partial_.begin(), partial_.end(), [](const auto& a, const auto& b) {
                return a.second.first_seen < b.second.first_seen;
            });
            partial_.erase(oldest);
        }
        it = partial_.emplace(id, Partial{now, std::vector<std::optional<Bytes>>(count), 0}).first;
    }
    auto& p = it->second;
    if (p.parts.size() != count) {
        partial_.erase(it);
        return fail(Errc::malformed, "signal chunk: chunks of one message disagree on their count");
    }
    if (p.parts[index]) return std::optional<Bytes>();  // a duplicate (QoS 1 may redeliver)
    p.parts[index] = Bytes(data.begin(), data.end());
    if (++p.received < count) return std::optional<Bytes>();
    Bytes whole;
    for (auto& part : p.parts) whole.insert(whole.end(), part->begin(), part->end());
    partial_.erase(it);
    return std::optional<Bytes>(std::move(whole));
}

Result<void> ReplayGuard::check(const SignalMessage& m, SystemClock::time_point now) {
    auto now_ms = to_unix_ms(now);
    auto window = static_cast<std::uint64_t>(window_.count());
    if (m.timestamp_ms + window < now_ms)
        return fail(Errc::replayed, fmt::format("stale signal message: sent {} ms ago, the window is {} ms", now_ms - m.timestamp_ms, window));
    if (m.timestamp_ms > now_ms + window)
        return fail(Errc::replayed, fmt::format("signal message from {} ms in the future, the window is {} ms", m.timestamp_ms - now_ms, window));
    std::erase_if(seen_, [&](const auto& entry) { return entry.second + window < now_ms; });
    if (seen_.contains(m.nonce)) return fail(Errc::replayed, "replayed signal message: nonce seen before");
    if (seen_.size() >= max_nonces)
        return fail(Errc::refused, fmt::format("signal message refused: {} fresh nonces remembered already (the replay guard is full "
                                               "until the oldest leave the {} ms window)", seen_.size(), window));
    seen_.emplace(m.nonce, m.timestamp_ms);
    return {};
}

}  // namespace warpgate::signal
