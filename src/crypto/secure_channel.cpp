#include "crypto/secure_channel.hpp"

#include <limits>
#include <stdexcept>

namespace warpgate::crypto {
namespace {

void store_counter(std::uint64_t counter, std::uint8_t* out) {
    for (int i = 7; i >= 0; --i, counter >>= 8) out[i] = static_cast<std::uint8_t>(counter);
}

std::uint64_t load_counter(const std::uint8_t* in) {
    std::uint64_t counter = 0;
    for (int i = 0; i < 8; ++i) counter = counter << 8 | in[i];
    return counter;
}

AeadNonce nonce_of(const std::uint8_t* counter_bytes) {
    AeadNonce nonce{};
    std::copy_n(counter_bytes, SecureChannel::header_size, nonce.begin() + 4);
    return nonce;
}

std::string number(std::uint64_t counter) { return "#" + std::to_string(counter); }

}  // namespace

SecureChannel::SecureChannel(const Keys& keys, ChannelMode mode)
    : mode_(mode),
      sealer_(keys.send_key, Aead::Direction::seal),
      opener_(keys.receive_key, Aead::Direction::open),
      peer_public_key_(keys.peer_public_key),
      peer_node_id_(keys.peer_node_id) {}

Bytes SecureChannel::seal(ByteView plaintext) {
    Bytes record(plaintext.size() + overhead);
    seal_into(plaintext, record);
    return record;
}

std::size_t SecureChannel::seal_into(std::initializer_list<ByteView> plaintext, std::span<std::uint8_t> out) {
    // The in-band sequence ends where the out-of-band one begins, so no nonce repeats.
    if (out_of_band(next_send_)) throw Exception(Errc::closed, "secure link sent 2^63 records; reconnect to rekey");
    return seal_with(next_send_++, plaintext, out);
}

std::size_t SecureChannel::seal_out_of_band_into(std::initializer_list<ByteView> plaintext, std::span<std::uint8_t> out) {
    // The last counter is never used, so the nonce can never repeat under this key.
    if (next_out_of_band_send_ == std::numeric_limits<std::uint64_t>::max())
        throw Exception(Errc::closed, "secure link sent 2^63-1 out-of-band records; reconnect to rekey");
    return seal_with(next_out_of_band_send_++, plaintext, out);
}

std::size_t SecureChannel::seal_with(std::uint64_t counter, std::initializer_list<ByteView> plaintext, std::span<std::uint8_t> out) {
    std::size_t size = overhead;
    for (auto part : plaintext) size += part.size();
    if (out.size() < size) throw std::length_error("SecureChannel::seal_into: output buffer too small");
    store_counter(counter, out.data());
    ByteView header = out.first(header_size);
    sealer_.seal(nonce_of(out.data()), header, plaintext, out.subspan(header_size, size - header_size));
    return size;
}

Result<Bytes> SecureChannel::open(ByteView record) {
    Bytes plaintext(record.size() >= overhead ? record.size() - overhead : 0);
    auto size = open_into(record, plaintext);
    if (!size) return tl::unexpected(size.error());
    return plaintext;
}

Result<std::span<std::uint8_t>> SecureChannel::open_in_place(std::span<std::uint8_t> record) {
    // OpenSSL decrypts in place when input and output start at the same byte.
    auto out = record.size() >= overhead ? record.subspan(header_size) : std::span<std::uint8_t>{};
    auto size = open_into(record, out);
    if (!size) return tl::unexpected(size.error());
    return out.first(*size);
}

Result<void> SecureChannel::admit(std::uint64_t counter) const {
    if (out_of_band(counter)) {
        if (counter < next_out_of_band_receive_)
            return fail(Errc::replayed, "out-of-band record " + number(counter & ~(1ull << 63)) + " replayed");
        return {};
    }
    if (mode_ == ChannelMode::datagram) {
        switch (window_.check(counter)) {
            case ReplayWindow::Verdict::fresh: return {};
            case ReplayWindow::Verdict::duplicate:
                return fail(Errc::replayed, "secure datagram " + number(counter) + " was already received (replay)");
            case ReplayWindow::Verdict::too_old:
                return fail(Errc::replayed, "secure datagram " + number(counter) + " is older than the " +
                                                std::to_string(ReplayWindow::size) + "-record replay window");
        }
    }
    if (counter < next_receive_)
        return fail(Errc::replayed, "secure record " + number(counter) + " replayed or reordered (expected " +
                                        number(next_receive_) + ")");
    if (counter > next_receive_)
        return fail(Errc::auth_failed, "secure record " + number(counter) + " arrived where " +
                                           number(next_receive_) + " was due: records were dropped or reordered");
    return {};
}

Result<std::size_t> SecureChannel::open_into(ByteView record, std::span<std::uint8_t> out) {
    std::size_t size = record.size() >= overhead ? record.size() - overhead : 0;
    if (out.size() < size)
        return fail(Errc::malformed, "buffer of " + std::to_string(out.size()) + " bytes cannot hold a " +
                                         std::to_string(size) + "-byte record");
    return open_into(record, {out.first(size)});
}

template <class Decrypt>
Result<std::size_t> SecureChannel::open_checked(ByteView counter_bytes, std::size_t record_size, std::size_t room, Decrypt decrypt) {
    if (broken_) return fail(Errc::closed, "secure link is closed after an earlier record failed");
    auto failed = [&](Error error) {
        broken_ = mode_ == ChannelMode::stream && !(counter_bytes.size() >= header_size && out_of_band(load_counter(counter_bytes.data())));
        return tl::unexpected(std::move(error));
    };
    if (record_size < overhead || counter_bytes.size() != header_size)
        return failed({Errc::auth_failed, "secure record of " + std::to_string(record_size) +
                                              " bytes is shorter than the " + std::to_string(overhead) +
                                              "-byte minimum (truncated)"});
    std::size_t size = record_size - overhead;
    if (room != size)
        return fail(Errc::malformed, "buffers of " + std::to_string(room) + " bytes for a " + std::to_string(size) +
                                         "-byte record");
    std::uint64_t counter = load_counter(counter_bytes.data());
    if (auto ok = admit(counter); !ok) return failed(ok.error());
    if (!decrypt(nonce_of(counter_bytes.data())))
        return failed({Errc::auth_failed, "secure record " + number(counter) +
                                              " failed authentication (tampered, truncated or forged)"});
    if (out_of_band(counter))
        next_out_of_band_receive_ = counter + 1;
    else if (mode_ == ChannelMode::datagram)
        window_.accept(counter);
    else
        ++next_receive_;
    return size;
}

Result<std::size_t> SecureChannel::open_into(ByteView record, std::initializer_list<std::span<std::uint8_t>> out) {
    std::size_t room = 0;
    for (auto part : out) room += part.size();
    auto counter = record.first(std::min(record.size(), header_size));
    return open_checked(counter, record.size(), room, [&](const AeadNonce& nonce) {
        return opener_.open(nonce, counter, record.subspan(header_size), out);
    });
}

Result<std::size_t> SecureChannel::open_in_place(ByteView counter, std::initializer_list<std::span<std::uint8_t>> ciphertext, ByteView tag) {
    std::size_t room = 0;
    for (auto part : ciphertext) room += part.size();
    return open_checked(counter, counter.size() + room + tag.size(), room, [&](const AeadNonce& nonce) {
        return opener_.open_in_place(nonce, counter, ciphertext, tag);
    });
}

}  // namespace warpgate::crypto
