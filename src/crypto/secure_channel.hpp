// Records of an authenticated link (issue 7), after the handshake: ChaCha20-Poly1305 with the
// handshake's per-direction keys and a 64-bit counter per direction.
//
//   0                   8                              8+n              8+n+16
//   +-------------------+------------------------------+----------------+
//   | counter (u64, BE) | ciphertext (n = plaintext)   | Poly1305 tag   |
//   +-------------------+------------------------------+----------------+
//   nonce = 00 00 00 00 || counter (BE), aad = the 8 counter bytes
//
// Stream mode (TCP, framed by the pipe): every record must carry exactly the next counter, so a
// replayed, reordered, dropped, tampered or truncated record fails, and after one failure the
// channel refuses everything (the link must close). Datagram mode (UDP): any counter inside
// a 1024-record replay window is accepted once, so loss and reordering pass; duplicates, old
// records and forgeries are rejected without breaking the channel.
//
// Out of band (both modes): counters with the top bit set are a second sequence, strictly
// increasing, that never touches the first. A session seals the first record on a new path
// so (session/session.hpp, join): anyone can open a connection and send one, so a forged or
// replayed out-of-band record is rejected without breaking the channel.
#pragma once
#include <cstdint>
#include <span>

#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

#include "crypto/aead.hpp"
#include "crypto/handshake.hpp"
#include "crypto/replay_window.hpp"

namespace warpgate::crypto {

enum class ChannelMode { stream, datagram };

class SecureChannel {
public:
    static constexpr std::size_t header_size = 8;
    static constexpr std::size_t overhead = header_size + aead_tag_size;  // 24 bytes per record

    SecureChannel(const Keys& keys, ChannelMode mode);

    Bytes seal(ByteView plaintext);
    // Writes the record to the front of `out` and returns its size (plaintext.size() +
    // overhead). Throws std::length_error when out is smaller, and warpgate::Exception
    // (Errc::closed) once 2^63 records were sent.
    std::size_t seal_into(ByteView plaintext, std::span<std::uint8_t> out) { return seal_into({plaintext}, out); }
    // The same for a plaintext in parts, sealed from where they lie (Aead::seal).
    std::size_t seal_into(std::initializer_list<ByteView> plaintext, std::span<std::uint8_t> out);
    std::size_t seal_out_of_band_into(std::initializer_list<ByteView> plaintext, std::span<std::uint8_t> out);
    static bool out_of_band(std::uint64_t counter) noexcept { return counter >> 63 != 0; }

    // Errc::auth_failed (tampered, truncated, skipped records in stream mode), Errc::replayed
    // (a counter seen before or too old), Errc::closed (stream mode after an earlier failure).
    Result<Bytes> open(ByteView record);
    // As open(), writing the plaintext to the front of `out` (at least record.size() -
    // overhead bytes, else Errc::malformed).
    Result<std::size_t> open_into(ByteView record, std::span<std::uint8_t> out);
    // As open(), writing the plaintext into parts, in order, whose sizes add up to exactly
    // record.size() - overhead (else Errc::malformed): a record's kind byte and its body.
    Result<std::size_t> open_into(ByteView record, std::initializer_list<std::span<std::uint8_t>> out);
    // As open(), decrypting where the record lies: returns the plaintext as a view into
    // `record` (its bytes [8, 8+n)). Saves a buffer and a pass over memory when receiving.
    Result<std::span<std::uint8_t>> open_in_place(std::span<std::uint8_t> record);
    // As open(), for a record read in pieces: its counter (header_size bytes), its ciphertext in
    // parts, decrypted where they lie, and its tag. Returns the plaintext's size.
    Result<std::size_t> open_in_place(ByteView counter, std::initializer_list<std::span<std::uint8_t>> ciphertext, ByteView tag);

    ChannelMode mode() const { return mode_; }
    // Stream mode: the counter the next record must carry.
    std::uint64_t next_receive() const { return next_receive_; }
    const Bytes& peer_public_key() const { return peer_public_key_; }
    const std::string& peer_node_id() const { return peer_node_id_; }

private:
    Result<void> admit(std::uint64_t counter) const;
    // The checks and bookkeeping of every open: `record_size` bytes in all, the first of them
    // `counter`; `room` bytes to decrypt into; `decrypt` opens the record (false: forged).
    template <class Decrypt>
    Result<std::size_t> open_checked(ByteView counter, std::size_t record_size, std::size_t room, Decrypt decrypt);
    std::size_t seal_with(std::uint64_t counter, std::initializer_list<ByteView> plaintext, std::span<std::uint8_t> out);

    ChannelMode mode_;
    Aead sealer_;
    Aead opener_;
    Bytes peer_public_key_;
    std::string peer_node_id_;
    std::uint64_t next_send_ = 0;
    std::uint64_t next_receive_ = 0;  // stream mode
    ReplayWindow window_;             // datagram mode
    std::uint64_t next_out_of_band_send_ = 1ull << 63;
    std::uint64_t next_out_of_band_receive_ = 1ull << 63;
    bool broken_ = false;             // stream mode: a record failed, the link must close
};

}  // namespace warpgate::crypto
