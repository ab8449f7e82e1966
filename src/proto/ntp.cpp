#include "proto/ntp.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <openssl/rand.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::ntp {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    auto q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void put(net::ByteWriter& w, Timestamp ts) {
    w.u32(ts.seconds);
    w.u32(ts.fraction);
}

Timestamp get(net::ByteReader& r, std::string_view what) {
    Timestamp ts;
    ts.seconds = r.u32(what);
    ts.fraction = r.u32(what);
    return ts;
}

}  // namespace

Timestamp to_timestamp(WallTime t) {
    auto ntp_ns = t.time_since_epoch().count() + unix_epoch_in_ntp * ns_per_s;
    auto seconds = floor_div(ntp_ns, ns_per_s);
    auto ns = static_cast<std::uint64_t>(ntp_ns - seconds * ns_per_s);  // [0, 1e9)
    // Rounded to the nearest 2^-32 s; 999999999 ns still rounds below 2^32.
    auto fraction = ((ns << 32) + ns_per_s / 2) / ns_per_s;
    return {static_cast<std::uint32_t>(seconds), static_cast<std::uint32_t>(fraction)};
}

WallTime from_timestamp(Timestamp ts, WallTime near) {
    auto near_seconds = floor_div(near.time_since_epoch().count(), ns_per_s) + unix_epoch_in_ntp;
    // The signed distance modulo 2^32 picks the era within ±68 years of `near`.
    auto diff = static_cast<std::int32_t>(ts.seconds - static_cast<std::uint32_t>(near_seconds));
    auto seconds = near_seconds + diff - unix_epoch_in_ntp;
    auto ns = static_cast<std::int64_t>((static_cast<std::uint64_t>(ts.fraction) * ns_per_s + (1ull << 31)) >> 32);
    return WallTime(Duration(seconds * ns_per_s + ns));
}

Bytes encode(const Packet& p) {
    net::ByteWriter w;
    w.u8(static_cast<std::uint8_t>((p.leap & 3) << 6 | (p.version & 7) << 3 | (p.mode & 7)));
    w.u8(p.stratum);
    w.u8(static_cast<std::uint8_t>(p.poll));
    w.u8(static_cast<std::uint8_t>(p.precision));
    w.u32(p.root_delay);
    w.u32(p.root_dispersion);
    w.u32(p.reference_id);
    put(w, p.reference);
    put(w, p.origin);
    put(w, p.receive);
    put(w, p.transmit);
    return std::move(w).take();
}

Result<Packet> decode(ByteView bytes) {
    if (bytes.size() != packet_size)
        return fail(Errc::malformed, fmt::format("NTP packet: {} bytes, expected exactly {} (no extension fields or MAC)",
                                                 bytes.size(), packet_size));
    net::ByteReader r(bytes, "NTP packet");
    Packet p;
    auto first = r.u8("LI/VN/mode");
    p.leap = first >> 6;
    p.version = (first >> 3) & 7;
    p.mode = first & 7;
    p.stratum = r.u8("stratum");
    p.poll = static_cast<std::int8_t>(r.u8("poll"));
    p.precision = static_cast<std::int8_t>(r.u8("precision"));
    p.root_delay = r.u32("root delay");
    p.root_dispersion = r.u32("root dispersion");
    p.reference_id = r.u32("reference id");
    p.reference = get(r, "reference timestamp");
    p.origin = get(r, "origin timestamp");
    p.receive = get(r, "receive timestamp");
    p.transmit = get(r, "transmit timestamp");
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return p;
}

Bytes encode_request(Timestamp cookie) {
    Packet p;
    p.version = 4;
    p.mode = static_cast<std::uint8_t>(Mode::client);
    p.transmit = cookie;
    return encode(p);
}

Timestamp random_cookie() {
    std::uint8_t b[8];
    do {
        if (RAND_bytes(b, sizeof b) != 1) throw Exception(Errc::io, "OpenSSL RAND_bytes failed");
    } while (std::all_of(std::begin(b), std::end(b), [](std::uint8_t x) { return x == 0; }));
    auto u32 = [&](int at) {
        return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
               static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
    };
    return {u32(0), u32(4)};
}

std::string kiss_code(std::uint32_t id) {
    std::string code;
    for (int shift = 24; shift >= 0; shift -= 8) {
        auto c = static_cast<char>((id >> shift) & 0xff);
        if (c == 0 && shift < 24) break;  // codes shorter than four characters end in NULs
        if (!std::isprint(static_cast<unsigned char>(c))) return fmt::format("0x{:08x}", id);
        code.push_back(c);
    }
    return code;
}

Result<ServerReply> check_reply(const Packet& p, Timestamp cookie) {
    if (p.origin != cookie)
        return fail(Errc::replayed, "NTP reply: origin timestamp does not match our request (spoofed, stale or not ours)");
    if (p.mode != static_cast<std::uint8_t>(Mode::server))
        return fail(Errc::malformed, fmt::format("NTP reply: mode {}, expected 4 (server)", p.mode));
    if (p.version < 3 || p.version > 4)
        return fail(Errc::unsupported, fmt::format("NTP reply: version {}, expected 3 or 4", p.version));
    if (p.stratum == 0)
        return fail(Errc::refused, fmt::format("NTP kiss-o'-death {}", kiss_code(p.reference_id)));
    if (p.leap == leap_unsynchronised)
        return fail(Errc::refused, "NTP reply: the server's clock is unsynchronised (leap indicator 3)");
    if (p.stratum >= stratum_unsynchronised)
        return fail(Errc::refused, fmt::format("NTP reply: the server's clock is unsynchronised (stratum {})", p.stratum));
    if (p.receive.is_zero()) return fail(Errc::malformed, "NTP reply: zero receive timestamp");
    if (p.transmit.is_zero()) return fail(Errc::malformed, "NTP reply: zero transmit timestamp");
    return ServerReply{p.receive, p.transmit, p.stratum, p.version, p.leap, from_short(p.root_delay), from_short(p.root_dispersion)};
}

Duration from_short(std::uint32_t value) {
    return Duration(static_cast<std::int64_t>((static_cast<std::uint64_t>(value) * ns_per_s + (1u << 15)) >> 16));
}

Duration offset(const Exchange& e) { return ((e.t2 - e.t1) + (e.t3 - e.t4)) / 2; }

Duration delay(const Exchange& e) { return std::max(Duration::zero(), (e.t4 - e.t1) - (e.t3 - e.t2)); }

Exchange exchange(WallTime t1, const ServerReply& reply, WallTime t4) {
    return {t1, from_timestamp(reply.receive, t1), from_timestamp(reply.transmit, t1), t4};
}

}  // namespace warpgate::ntp
