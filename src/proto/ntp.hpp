// NTP packet codec, client mode only (RFC 5905, https://www.rfc-editor.org/rfc/rfc5905, and
// SNTP, RFC 4330): the request a client sends, the checks a server's reply must pass, the
// offset and delay arithmetic of §8, and the 64-bit timestamp format with its eras (§6).
// Pure functions over byte spans and time values; the network side is proto/sntp_client.hpp.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <warpgate/bytes.hpp>
#include <warpgate/error.hpp>

namespace warpgate::ntp {

// Wall-clock time at the resolution NTP arithmetic needs (an NTP fraction is 233 ps).
using WallTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;

inline constexpr std::uint16_t default_port = 123;

// RFC 5905 §6: seconds since 1900-01-01 00:00 UTC (modulo 2^32: the era is implied) and a
// binary fraction of a second. Zero means "not known" (§7.3).
struct Timestamp {
    std::uint32_t seconds = 0;
    std::uint32_t fraction = 0;
    bool is_zero() const { return seconds == 0 && fraction == 0; }
    friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

// Seconds from the NTP prime epoch (1900) to the Unix epoch (1970).
inline constexpr std::int64_t unix_epoch_in_ntp = 2'208'988'800;

// A time as an NTP timestamp (rounded to the nearest fraction; eras wrap in 2036, 2172 ...).
Timestamp to_timestamp(WallTime t);
// The time a timestamp names in the era that puts it within 68 years of `near` (RFC 5905
// §6: a client resolves the era from its own clock, which is far closer than that).
WallTime from_timestamp(Timestamp ts, WallTime near);

// RFC 5905 §7.3: the packet header, 48 bytes.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |LI | VN  |Mode |    Stratum     |     Poll      |  Precision   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         Root Delay                            |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         Root Dispersion                       |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                          Reference ID                         |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    +                     Reference Timestamp (64)                  +
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    +                      Origin Timestamp (64)                    +
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    +                      Receive Timestamp (64)                   +
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    +                      Transmit Timestamp (64)                  +
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    .    Extension Fields and MAC (optional, RFC 7822; never here)  .
//
// LI: leap indicator (3 = clock unsynchronised); VN: version; Mode 3 = client, 4 = server.
// Stratum 0 is a kiss-o'-death (§7.4) whose reference id holds an ASCII code ("RATE",
// "DENY", "RSTR" ...); 1-15 are synchronised strata, 16 is unsynchronised.
// Root delay and dispersion are NTP short format (16.16 seconds).
//
// Decision on trailing bytes: a packet must be exactly 48 bytes. Our requests carry no
// extension field and no MAC, and a server answers those only with the same (RFC 7822 §7.5,
// RFC 5905 §7.3), so anything after the header is not an answer to us.
inline constexpr std::size_t packet_size = 48;

enum class Mode : std::uint8_t { symmetric_active = 1, symmetric_passive = 2, client = 3, server = 4, broadcast = 5 };
inline constexpr std::uint8_t leap_unsynchronised = 3;
inline constexpr std::uint8_t stratum_unsynchronised = 16;

struct Packet {
    std::uint8_t leap = 0;
    std::uint8_t version = 4;
    std::uint8_t mode = 0;  // as on the wire: any of 0-7
    std::uint8_t stratum = 0;
    std::int8_t poll = 0;
    std::int8_t precision = 0;
    std::uint32_t root_delay = 0;
    std::uint32_t root_dispersion = 0;
    std::uint32_t reference_id = 0;
    Timestamp reference;
    Timestamp origin;
    Timestamp receive;
    Timestamp transmit;
    friend bool operator==(const Packet&, const Packet&) = default;
};

Bytes encode(const Packet& packet);
// Structure only (the size): Errc::malformed unless exactly packet_size bytes.
Result<Packet> decode(ByteView bytes);

// A client request (version 4, mode 3) that carries nothing but `cookie` as its transmit
// timestamp: the server echoes it as the reply's origin timestamp, so a random cookie proves
// a reply answers this request and gives the server no reading of our clock (the
// data-minimisation practice of draft-ietf-ntp-data-minimization). The client keeps the
// real send time itself.
Bytes encode_request(Timestamp cookie);
// A random nonzero cookie (OpenSSL RAND_bytes).
Timestamp random_cookie();

// What a valid server reply tells the client.
struct ServerReply {
    Timestamp receive;   // t2: the server's clock when the request arrived
    Timestamp transmit;  // t3: the server's clock when the reply left
    int stratum = 0;
    int version = 0;
    std::uint8_t leap = 0;
    Duration root_delay{0};       // the server's round trip to its primary reference
    Duration root_dispersion{0};  // the server's accumulated error bound
};

// NTP short format (16.16 seconds) as a duration.
Duration from_short(std::uint32_t value);

// Checks a decoded packet as the answer to the request that carried `cookie`, in the order
// of RFC 5905 §8: first that it answers our request at all (origin == cookie, else
// Errc::replayed: spoofed, stale or someone else's), then mode 4 (Errc::malformed), version
// 3-4 (Errc::unsupported), kiss-o'-death (stratum 0, Errc::refused naming the code), an
// unsynchronised server (leap 3 or stratum >= 16, Errc::refused), and nonzero receive and
// transmit timestamps (Errc::malformed).
Result<ServerReply> check_reply(const Packet& packet, Timestamp cookie);

// The four times of one exchange (RFC 5905 §8): t1 request sent and t4 reply received by the
// client's clock, t2 request received and t3 reply sent by the server's clock.
struct Exchange {
    WallTime t1, t2, t3, t4;
};
// θ = ((t2 - t1) + (t3 - t4)) / 2: what to add to the client's clock to read the server's.
Duration offset(const Exchange& e);
// δ = (t4 - t1) - (t3 - t2): the round trip less the server's holding time; never below zero
// (two clocks' rounding can make a loopback exchange look a few ns negative).
Duration delay(const Exchange& e);
// The exchange with t2 and t3 in the era nearest t1.
Exchange exchange(WallTime t1, const ServerReply& reply, WallTime t4);

// A kiss-o'-death code as text: four printable ASCII characters, else the hex value.
std::string kiss_code(std::uint32_t reference_id);

}  // namespace warpgate::ntp
