#include "traversal/tcp_punch_message.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"
#include "traversal/signal_fields.hpp"

namespace warpgate::traversal {
namespace {

using std::chrono::microseconds;

}  // namespace

Bytes encode_punch(const PunchMessage& m) {
    net::ByteWriter w;
    w.u8(PunchMessage::version);
    w.u8(static_cast<std::uint8_t>(m.kind));
    w.bytes(m.con_id);
    w.bytes(m.nonce);
    if (m.kind == PunchKind::offer || m.kind == PunchKind::answer) {
        write_ip(w, m.ip);
        w.u8(m.clock.synced ? 1 : 0);
        auto us = std::chrono::duration_cast<microseconds>(m.clock.uncertainty).count();
        w.u32(static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX)));
        auto n = std::min(m.ports.size(), PunchMessage::max_ports);
        w.u8(static_cast<std::uint8_t>(n));
        for (std::size_t i = 0; i < n; ++i) w.u16(m.ports[i]);
        if (m.kind == PunchKind::offer) w.bytes(m.caller_address);
    } else if (m.kind == PunchKind::go) {
        auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<microseconds>(m.start.time_since_epoch()).count());
        w.u32(static_cast<std::uint32_t>(us >> 32));
        w.u32(static_cast<std::uint32_t>(us));
        w.u32(static_cast<std::uint32_t>(std::clamp<std::int64_t>(m.window.count(), 0, UINT32_MAX)));
    } else {
        write_reason(w, m.reason, PunchMessage::max_reason);
    }
    return std::move(w).take();
}

Result<PunchMessage> decode_punch(ByteView payload) {
    net::ByteReader r(payload, "tcp_punch message");
    PunchMessage m;
    auto version = r.u8("version");
    if (r.ok() && version != PunchMessage::version)
        r.reject(0, fmt::format("version {} (this build reads {})", version, PunchMessage::version), Errc::unsupported);
    auto kind = r.u8("kind");
    if (r.ok() && (kind < 1 || kind > 4)) r.reject(1, fmt::format("unknown kind {}", kind));
    m.kind = static_cast<PunchKind>(kind);
    m.con_id = r.array<16>("connection id");
    m.nonce = r.array<8>("nonce");
    if (!r.ok()) return tl::unexpected(r.error());
    if (m.kind == PunchKind::offer || m.kind == PunchKind::answer) {
        m.ip = read_ip(r);
        auto flags_at = r.offset();
        auto flags = r.u8("clock flags");
        if (r.ok() && (flags & ~1u) != 0) r.reject(flags_at, fmt::format("unknown clock flags 0x{:02X}", flags));
        m.clock.synced = (flags & 1u) != 0;
        m.clock.uncertainty = microseconds(r.u32("clock uncertainty"));
        auto count_at = r.offset();
        auto count = r.u8("port count");
        if (r.ok() && (count < 1 || count > PunchMessage::max_ports))
            r.reject(count_at, fmt::format("{} ports (1 to {})", count, PunchMessage::max_ports));
        for (std::size_t i = 0; i < count && r.ok(); ++i) {
            auto at = r.offset();
            auto port = r.u16("port");
            if (r.ok() && port == 0) r.reject(at, "port 0");
            m.ports.push_back(port);
        }
        if (m.kind == PunchKind::offer) {
            auto at = r.offset();
            if (r.ok() && r.remaining() == 0) r.reject(at, "an offer without the initiator's address");
            auto address = r.bytes(r.remaining(), "initiator's address");
            m.caller_address.assign(address.begin(), address.end());
        }
    } else if (m.kind == PunchKind::go) {
        auto at = r.offset();
        std::uint64_t high = r.u32("start");
        std::uint64_t low = r.u32("start");
        auto us = (high << 32) | low;
        // Beyond what the system clock can hold (year 2262 with nanosecond ticks).
        constexpr auto latest = std::chrono::duration_cast<microseconds>(std::chrono::system_clock::duration::max()).count();
        if (r.ok() && us > static_cast<std::uint64_t>(latest)) r.reject(at, "a start instant beyond the clock's range");
        if (r.ok())
            m.start = std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(microseconds(static_cast<std::int64_t>(us))));
        m.window = std::chrono::milliseconds(r.u32("window"));
    } else {
        m.reason = read_reason(r, PunchMessage::max_reason);
    }
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return m;
}

}  // namespace warpgate::traversal
