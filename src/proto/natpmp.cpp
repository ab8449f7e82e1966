#include "proto/natpmp.hpp"

#include <fmt/format.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::natpmp {
namespace {

constexpr std::size_t error_size = 8;
constexpr std::size_t external_address_size = 12;
constexpr std::size_t map_size = 16;

}  // namespace

std::string to_string(ResultCode code) {
    switch (code) {
        case ResultCode::success: return "success";
        case ResultCode::unsupported_version: return "unsupported version";
        case ResultCode::not_authorized: return "not authorized/refused";
        case ResultCode::network_failure: return "network failure";
        case ResultCode::out_of_resources: return "out of resources";
        case ResultCode::unsupported_opcode: return "unsupported opcode";
    }
    return fmt::format("result code {}", static_cast<unsigned>(code));
}

Bytes encode_external_address_request() { return {version, static_cast<std::uint8_t>(Opcode::external_address)}; }

Bytes encode(const MapRequest& request) {
    net::ByteWriter w;
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(request.tcp ? Opcode::map_tcp : Opcode::map_udp));
    w.u16(0);
    w.u16(request.internal_port);
    w.u16(request.suggested_external_port);
    w.u32(request.lifetime);
    return std::move(w).take();
}

Result<Response> decode_response(ByteView bytes) {
    net::ByteReader r(bytes, "NAT-PMP response");
    Response out;
    auto vers = r.u8("version");
    auto op = r.u8("opcode");
    out.result = static_cast<ResultCode>(r.u16("result code"));
    out.epoch = r.u32("epoch");
    if (!r.ok()) return tl::unexpected(r.error());
    if (vers != version) r.reject(0, fmt::format("version {} (NAT-PMP is 0)", vers), Errc::unsupported);
    if (!(op & response_bit)) r.reject(1, fmt::format("opcode {} is a request, not a response", op));
    auto request_op = static_cast<std::uint8_t>(op & ~response_bit);
    if (request_op > static_cast<std::uint8_t>(Opcode::map_tcp)) r.reject(1, fmt::format("unknown opcode {}", op));
    if (!r.ok()) return tl::unexpected(r.error());
    out.opcode = static_cast<Opcode>(request_op);
    if (bytes.size() == error_size && out.result != ResultCode::success) {
        out.short_form = true;
        return out;
    }
    auto expected = out.opcode == Opcode::external_address ? external_address_size : map_size;
    if (bytes.size() != expected)
        r.reject(0, fmt::format("{} bytes where this opcode's response has {}", bytes.size(), expected));
    if (out.opcode == Opcode::external_address) {
        out.external_ip = asio::ip::address_v4(r.u32("external address"));
    } else {
        out.internal_port = r.u16("internal port");
        out.external_port = r.u16("external port");
        out.lifetime = r.u32("lifetime");
    }
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

Bytes encode(const Response& response) {
    net::ByteWriter w;
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(response.opcode) | response_bit));
    w.u16(static_cast<std::uint16_t>(response.result));
    w.u32(response.epoch);
    if (response.short_form) return std::move(w).take();
    if (response.opcode == Opcode::external_address) {
        w.u32(response.external_ip.to_uint());
    } else {
        w.u16(response.internal_port);
        w.u16(response.external_port);
        w.u32(response.lifetime);
    }
    return std::move(w).take();
}

bool EpochWatch::lost_state(std::uint32_t epoch, Clock::time_point now) {
    bool lost = false;
    if (known_) {
        auto client_delta = std::chrono::duration_cast<std::chrono::seconds>(now - at_).count();
        auto server_delta = static_cast<std::int64_t>(epoch) - static_cast<std::int64_t>(epoch_);
        lost = server_delta < 0 || server_delta + 2 < client_delta - client_delta / 16 ||
               client_delta + 2 < server_delta - server_delta / 16;
    }
    known_ = true;
    epoch_ = epoch;
    at_ = now;
    return lost;
}

}  // namespace warpgate::natpmp
