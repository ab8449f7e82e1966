#include "proto/pcp.hpp"
#include <algorithm>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "net/byte_reader.hpp"
#include "net/byte_writer.hpp"

namespace warpgate::pcp {
namespace {

constexpr std::size_t header_size = 24;
constexpr std::size_t map_body_size = 36;
constexpr std::uint8_t response_bit = 0x80;

void put_address(net::ByteWriter& w, const asio::ip::address& ip) {
    auto v6 = ip.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, ip.to_v4()) : ip.to_v6();
    auto bytes = v6.to_bytes();
    w.bytes(ByteView(bytes.data(), bytes.size()));
}

asio::ip::address get_address(net::ByteReader& r, std::string_view what) {
    asio::ip::address_v6::bytes_type bytes{};
    auto view = r.bytes(bytes.size(), what);
    if (view.empty()) return {};
    std::copy(view.begin(), view.end(), bytes.begin());
    asio::ip::address_v6 v6(bytes);
    if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
    return v6;
}

void put_map(net::ByteWriter& w, const Map& m) {
    w.bytes(ByteView(m.nonce.data(), m.nonce.size()));
    w.u8(m.protocol);
    w.u8(0);
    w.u16(0);
    w.u16(m.internal_port);
    w.u16(m.external_port);
    put_address(w, m.external_ip);
}

Map get_map(net::ByteReader& r) {
    Map m;
    auto nonce = r.bytes(m.nonce.size(), "mapping nonce");
    if (!nonce.empty()) std::copy(nonce.begin(), nonce.end(), m.nonce.begin());
    m.protocol = r.u8("protocol");
    r.bytes(3, "reserved");  // ignored on receipt (§11.1)
    m.internal_port = r.u16("internal port");
    m.external_port = r.u16("external port");
    m.external_ip = get_address(r, "external address");
    return m;
}

void put_options(net::ByteWriter& w, const std::vector<Option>& options) {
    for (auto& o : options) {
        w.u8(o.code);
        w.u8(0);
        w.u16(static_cast<std::uint16_t>(o.data.size()));
        w.bytes(o.data);
        for (auto pad = o.data.size(); pad % 4 != 0; ++pad) w.u8(0);
    }
}

std::vector<Option> get_options(net::ByteReader& r) {
    std::vector<Option> out;
    while (r.ok() && r.remaining() > 0) {
        Option o;
        o.code = r.u8("option code");
        r.u8("option reserved");
        auto length = r.u16("option length");
        auto at = r.offset();
        auto data = r.bytes(length, "option data");
        auto padding = r.bytes((4 - length % 4) % 4, "option padding");
        if (!r.ok()) break;
        if (std::any_of(padding.begin(), padding.end(), [](std::uint8_t b) { return b != 0; }))
            r.reject(at + length, "nonzero option padding");
        o.data.assign(data.begin(), data.end());
        out.push_back(std::move(o));
    }
    return out;
}

// Size limits shared by requests and responses (§7).
void check_size(net::ByteReader& r, std::size_t size) {
    if (size % 4 != 0) r.reject(0, fmt::format("{} bytes is not a multiple of 4", size));
    if (size > max_message_size) r.reject(0, fmt::format("{} bytes exceeds the {}-byte limit", size, max_message_size));
}

}  // namespace

std::string to_string(ResultCode code) {
    switch (code) {
        case ResultCode::success: return "SUCCESS";
        case ResultCode::unsupp_version: return "UNSUPP_VERSION";
        case ResultCode::not_authorized: return "NOT_AUTHORIZED";
        case ResultCode::malformed_request: return "MALFORMED_REQUEST";
        case ResultCode::unsupp_opcode: return "UNSUPP_OPCODE";
        case ResultCode::unsupp_option: return "UNSUPP_OPTION";
        case ResultCode::malformed_option: return "MALFORMED_OPTION";
        case ResultCode::network_failure: return "NETWORK_FAILURE";
        case ResultCode::no_resources: return "NO_RESOURCES";
        case ResultCode::unsupp_protocol: return "UNSUPP_PROTOCOL";
        case ResultCode::user_ex_quota: return "USER_EX_QUOTA";
        case ResultCode::cannot_provide_external: return "CANNOT_PROVIDE_EXTERNAL";
        case ResultCode::address_mismatch: return "ADDRESS_MISMATCH";
        case ResultCode::excessive_remote_peers: return "EXCESSIVE_REMOTE_PEERS";
    }
    return fmt::format("result code {}", static_cast<unsigned>(code));
}

Nonce random_nonce() {
    Nonce n{};
    if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) throw Exception(Errc::io, "RAND_bytes failed");
    return n;
}

Bytes encode(const MapRequest& request) {
    net::ByteWriter w;
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(Opcode::map));
    w.u16(0);
    w.u32(request.lifetime);
    put_address(w, request.client_ip);
    put_map(w, request.map);
    put_options(w, request.options);
    return std::move(w).take();
}

Result<MapRequest> decode_map_request(ByteView bytes) {
    net::ByteReader r(bytes, "PCP request");
    MapRequest out;
    check_size(r, bytes.size());
    auto vers = r.u8("version");
    auto op = r.u8("opcode");
    auto reserved = r.u16("reserved");
    out.lifetime = r.u32("lifetime");
    out.client_ip = get_address(r, "client address");
    if (r.ok() && vers != version) r.reject(0, fmt::format("version {} (PCP is 2)", vers), Errc::unsupported);
    if (r.ok() && op != static_cast<std::uint8_t>(Opcode::map)) r.reject(1, fmt::format("opcode {} is not a MAP request", op));
    if (r.ok() && reserved != 0) r.reject(2, "nonzero reserved field");
    out.map = get_map(r);
    out.options = get_options(r);
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

Bytes encode(const MapResponse& response) {
    net::ByteWriter w;
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(response_bit | static_cast<std::uint8_t>(Opcode::map)));
    w.u8(0);
    w.u8(static_cast<std::uint8_t>(response.result));
    w.u32(response.lifetime);
    w.u32(response.epoch);
    for (int i = 0; i < 3; ++i) w.u32(0);
    if (!response.has_body) return std::move(w).take();
    put_map(w, response.map);
    put_options(w, response.options);
    return std::move(w).take();
}

Result<MapResponse> decode_map_response(ByteView bytes) {
    net::ByteReader r(bytes, "PCP response");
    MapResponse out;
    // A NAT-PMP server answers a PCP request with its 8-byte "unsupported version" (RFC 6887 §9).
    if (!bytes.empty() && bytes[0] == 0)
        return fail(Errc::unsupported, "PCP response: version 0: the server speaks only NAT-PMP");
    check_size(r, bytes.size());
    auto vers = r.u8("version");
    auto op = r.u8("opcode");
    r.u8("reserved");
    out.result = static_cast<ResultCode>(r.u8("result code"));
    out.lifetime = r.u32("lifetime");
    out.epoch = r.u32("epoch");
    r.bytes(12, "reserved");
    if (r.ok() && vers != version) r.reject(0, fmt::format("version {} (PCP is 2)", vers), Errc::unsupported);
    if (r.ok() && !(op & response_bit)) r.reject(1, "R bit clear: a request, not a response");
    if (r.ok() && (op & ~response_bit) != static_cast<std::uint8_t>(Opcode::map))
        r.reject(1, fmt::format("opcode {} is not a MAP response", op & ~response_bit));
    if (!r.ok()) return tl::unexpected(r.error());
    if (bytes.size() == header_size && out.result != ResultCode::success) {
        out.has_body = false;
        return out;
    }
    if (bytes.size() < header_size + map_body_size)
        r.reject(header_size, fmt::format("MAP body truncated: {} bytes after the header, needs {}", bytes.size() - header_size, map_body_size));
    out.map = get_map(r);
    out.options = get_options(r);
    if (!r.ok()) return tl::unexpected(r.error());
    return out;
}

}  // namespace warpgate::pcp
