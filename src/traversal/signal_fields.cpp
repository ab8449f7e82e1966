#include "traversal/signal_fields.hpp"

#include <fmt/format.h>

namespace warpgate::traversal {

void write_ip(net::ByteWriter& w, const asio::ip::address& ip) {
    if (ip.is_v6()) {
        w.u8(6);
        auto b = ip.to_v6().to_bytes();
        w.bytes(b);
    } else {
        w.u8(4);
        auto b = ip.to_v4().to_bytes();
        w.bytes(b);
    }
}

asio::ip::address read_ip(net::ByteReader& r) {
    auto at = r.offset();
    auto family = r.u8("family");
    if (family == 4) return asio::ip::address_v4(r.array<4>("IPv4 address"));
    if (family == 6) return asio::ip::address_v6(r.array<16>("IPv6 address"));
    if (r.ok()) r.reject(at, fmt::format("unknown family {}", family));
    return {};
}

void write_reason(net::ByteWriter& w, std::string_view reason, std::size_t max) {
    auto text = reason.empty() ? std::string_view("declined") : reason.substr(0, max);
    w.bytes(as_bytes(text));
}

std::string read_reason(net::ByteReader& r, std::size_t max) {
    auto at = r.offset();
    auto n = r.remaining();
    if (n < 1 || n > max) r.reject(at, fmt::format("a reason of {} bytes (1 to {})", n, max));
    auto text = r.bytes(n, "reason");
    return std::string(text.begin(), text.end());
}

}  // namespace warpgate::traversal
