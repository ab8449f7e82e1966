#include "traversal/udp_punch_message.hpp"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::traversal {
namespace {

constexpr std::size_t max_reason = 200;

void write_candidates(net::ByteWriter& w, const std::vector<Endpoint>& candidates) {
    if (candidates.empty() || candidates.size() > UdpPunchMessage::max_candidates)
        throw Exception(Errc::config, fmt::format("udp_punch: {} candidates (1 to {})", candidates.size(), UdpPunchMessage::max_candidates));
    w.u8(static_cast<std::uint8_t>(candidates.size()));
    for (auto& c : candidates) {
        if (c.ip.is_v6()) {
            w.u8(6);
            w.bytes(c.ip.to_v6().to_bytes());
        } else {
            w.u8(4);
            w.bytes(c.ip.to_v4().to_bytes());
        }
        w.u16(c.port);
    }
}

std::vector<Endpoint> read_candidates(net::ByteReader& r) {
    std::vector<Endpoint> out;
    auto offset = r.offset();
    auto count = r.u8("candidate count");
    if (r.ok() && (count == 0 || count > UdpPunchMessage::max_candidates))
        r.reject(offset, fmt::format("{} candidates (1 to {})", count, UdpPunchMessage::max_candidates));
    for (std::size_t i = 0; r.ok() && i < count; ++i) {
        offset = r.offset();
        auto family = r.u8("candidate family");
        if (r.ok() && family != 4 && family != 6) r.reject(offset, fmt::format("candidate family {}", family));
        if (!r.ok()) break;
        Endpoint e;
        if (family == 4) {
            asio::ip::address_v4::bytes_type b{};
            auto ip = r.bytes(b.size(), "candidate ip");
            if (r.ok()) std::copy(ip.begin(), ip.end(), b.begin());
            e.ip = asio::ip::address_v4(b);
        } else {
            asio::ip::address_v6::bytes_type b{};
            auto ip = r.bytes(b.size(), "candidate ip");
            if (r.ok()) std::copy(ip.begin(), ip.end(), b.begin());
            e.ip = asio::ip::address_v6(b);
        }
        offset = r.offset();
        e.port = r.u16("candidate port");
        if (r.ok() && e.port == 0) r.reject(offset, "candidate port 0");
        out.push_back(e);
    }
    return out;
}

}  // namespace

Bytes encode_punch_message(const UdpPunchMessage& m) {
    net::ByteWriter w;
    w.u8(UdpPunchMessage::version);
    w.u8(static_cast<std::uint8_t>(m.type));
    w.bytes(m.token);
    using Type = UdpPunchMessage::Type;
    if (m.type == Type::offer) {
        w.bytes(m.key);
        w.bytes(m.con_id);
        w.u8(static_cast<std::uint8_t>(m.mode));
        write_candidates(w, m.candidates);
        w.bytes(m.offerer_address);
    } else if (m.type == Type::answer) {
        w.u32(static_cast<std::uint32_t>(std::min<std::int64_t>(m.clock_uncertainty.count(), UINT32_MAX)));
        w.u8(m.clock_synced ? 1 : 0);
        write_candidates(w, m.candidates);
    } else if (m.type == Type::instant) {
        w.u32(static_cast<std::uint32_t>(m.start_ms >> 32));
        w.u32(static_cast<std::uint32_t>(m.start_ms));
        w.u32(static_cast<std::uint32_t>(m.window.count()));
    } else {
        auto reason = m.reason.substr(0, max_reason);
        if (reason.empty()) throw Exception(Errc::config, "udp_punch: a decline without a reason");
        w.bytes(as_bytes(reason));
    }
    return std::move(w).take();
}

Result<UdpPunchMessage> decode_punch_message(ByteView payload) {
    net::ByteReader r(payload, "udp_punch message");
    UdpPunchMessage m;
    auto version = r.u8("version");
    if (r.ok() && version != UdpPunchMessage::version)
        r.reject(0, fmt::format("version {} (this build reads {})", version, UdpPunchMessage::version), Errc::unsupported);
    auto type = r.u8("type");
    if (r.ok() && (type < 1 || type > 4)) r.reject(1, fmt::format("unknown type {}", type));
    m.type = static_cast<UdpPunchMessage::Type>(type);
    m.token = r.array<8>("punch token");
    using Type = UdpPunchMessage::Type;
    if (r.ok() && m.type == Type::offer) {
        m.key = r.array<crypto::aead_key_size>("key");
        m.con_id = r.array<16>("connection id");
        auto offset = r.offset();
        auto mode = r.u8("mode");
        if (r.ok() && (mode < 1 || mode > 3)) r.reject(offset, fmt::format("unknown mode {}", mode));
        m.mode = static_cast<PunchMode>(mode);
        m.candidates = read_candidates(r);
        auto address = r.bytes(r.remaining(), "offerer address");
        if (r.ok() && address.empty()) r.reject(r.offset(), "no offerer address");
        m.offerer_address.assign(address.begin(), address.end());
    } else if (r.ok() && m.type == Type::answer) {
        m.clock_uncertainty = std::chrono::microseconds(r.u32("clock uncertainty"));
        auto offset = r.offset();
        auto synced = r.u8("clock synced");
        if (r.ok() && synced > 1) r.reject(offset, fmt::format("clock synced {}", synced));
        m.clock_synced = synced == 1;
        m.candidates = read_candidates(r);
    } else if (r.ok() && m.type == Type::instant) {
        std::uint64_t high = r.u32("start");
        std::uint64_t low = r.u32("start");
        m.start_ms = high << 32 | low;
        m.window = std::chrono::milliseconds(r.u32("window"));
    } else if (r.ok()) {
        auto offset = r.offset();
        if (r.remaining() == 0 || r.remaining() > max_reason)
            r.reject(offset, fmt::format("reason of {} bytes (1 to {})", r.remaining(), max_reason));
        auto reason = r.bytes(r.remaining(), "reason");
        for (auto c : reason) m.reason.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    }
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return m;
}

}  // namespace warpgate::traversal
