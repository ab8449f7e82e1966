#include "traversal/turn_signal.hpp"

#include <fmt/format.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"
#include "traversal/signal_fields.hpp"

namespace warpgate::traversal {

Bytes encode_turn(const TurnMessage& m) {
    net::ByteWriter w;
    w.u8(TurnMessage::version);
    w.u8(static_cast<std::uint8_t>(m.kind));
    w.bytes(m.con_id);
    if (m.kind != TurnKind::decline) {
        write_ip(w, m.relayed.ip);
        w.u16(m.relayed.port);
        if (m.kind != TurnKind::answer) w.bytes(m.caller_address);
    } else {
        write_reason(w, m.reason, TurnMessage::max_reason);
    }
    return std::move(w).take();
}

Result<TurnMessage> decode_turn(ByteView payload) {
    net::ByteReader r(payload, "turn message");
    TurnMessage m;
    auto version = r.u8("version");
    if (r.ok() && version != TurnMessage::version)
        r.reject(0, fmt::format("version {} (this build reads {})", version, TurnMessage::version), Errc::unsupported);
    auto kind = r.u8("kind");
    if (r.ok() && (kind < 1 || kind > 4)) r.reject(1, fmt::format("unknown kind {}", kind));
    m.kind = static_cast<TurnKind>(kind);
    m.con_id = r.array<16>("connection id");
    if (!r.ok()) return tl::unexpected(r.error());
    if (m.kind != TurnKind::decline) {
        auto ip_at = r.offset();
        m.relayed.ip = read_ip(r);
        // A relay hands out a unicast address to send to; anything else is not one.
        if (r.ok() && (m.relayed.ip.is_unspecified() || m.relayed.ip.is_multicast()))
            r.reject(ip_at, "relayed address " + m.relayed.ip.to_string() + " is not a unicast address");
        auto port_at = r.offset();
        m.relayed.port = r.u16("relayed port");
        if (r.ok() && m.relayed.port == 0) r.reject(port_at, "relayed port 0");
        if (m.kind != TurnKind::answer) {
            auto at = r.offset();
            if (r.ok() && r.remaining() == 0) r.reject(at, "an offer without the initiator's address");
            auto address = r.bytes(r.remaining(), "initiator's address");
            m.caller_address.assign(address.begin(), address.end());
        }
    } else {
        m.reason = read_reason(r, TurnMessage::max_reason);
    }
    r.expect_end();
    if (!r.ok()) return tl::unexpected(r.error());
    return m;
}

}  // namespace warpgate::traversal
