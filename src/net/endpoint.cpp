#include <warpgate/endpoint.hpp>

#include <charconv>

namespace warpgate {

const char* to_string(Family f) noexcept { return f == IP6 ? "IPv6" : "IPv4"; }
const char* to_string(Transport t) noexcept { return t == TCP ? "TCP" : "UDP"; }

Result<Transport> parse_transport(std::string_view text) {
    if (text == "tcp" || text == "TCP") return TCP;
    if (text == "udp" || text == "UDP") return UDP;
    return fail(Errc::malformed, "transport must be tcp or udp, not '" + std::string(text) + "'");
}

std::string Endpoint::to_string() const {
    auto host = ip.to_string();
    if (ip.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(port);
}

namespace {

Result<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535 || text.empty())
        return fail(Errc::malformed, "bad port '" + std::string(text) + "'");
    return static_cast<std::uint16_t>(value);
}

// Splits "host:port" / "[v6]:port" / "host"; port empty when absent.
Result<std::pair<std::string_view, std::string_view>> split_host_port(std::string_view text) {
    if (text.empty()) return fail(Errc::malformed, "empty address");
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return fail(Errc::malformed, "missing ']' in '" + std::string(text) + "'");
        auto rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return fail(Errc::malformed, "junk after ']' in '" + std::string(text) + "'");
        return std::pair{text.substr(1, close - 1), rest.empty() ? rest : rest.substr(1)};
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::pair{text, std::string_view{}};
    if (text.find(':') != colon) return std::pair{text, std::string_view{}};  // bare IPv6
    return std::pair{text.substr(0, colon), text.substr(colon + 1)};
}

}  // namespace

Result<Endpoint> Endpoint::parse(std::string_view text) {
    auto parts = split_host_port(text);
    if (!parts) return tl::unexpected(parts.error());
    if (parts->second.empty()) return fail(Errc::malformed, "missing port in '" + std::string(text) + "'");
    asio::error_code ec;
    auto ip = asio::ip::make_address(std::string(parts->first), ec);
    if (ec) return fail(Errc::malformed, "not an IP address: '" + std::string(parts->first) + "'");
    auto port = parse_port(parts->second);
    if (!port) return tl::unexpected(port.error());
    return Endpoint{ip, *port};
}

std::string HostPort::to_string() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> HostPort::parse(std::string_view text, std::uint16_t default_port) {
    auto parts = split_host_port(text);
    if (!parts) return tl::unexpected(parts.error());
    if (parts->first.empty()) return fail(Errc::malformed, "missing host in '" + std::string(text) + "'");
    std::uint16_t port = default_port;
    if (!parts->second.empty()) {
        auto p = parse_port(parts->second);
        if (!p) return tl::unexpected(p.error());
        port = *p;
    }
    if (port == 0) return fail(Errc::malformed, "missing port in '" + std::string(text) + "'");
    return HostPort{std::string(parts->first), port};
}

}  // namespace warpgate
