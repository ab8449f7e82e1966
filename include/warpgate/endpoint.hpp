// Address families, transports and endpoints, named as in the original (IP4, IP6, TCP, UDP).
#pragma once
#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <warpgate/error.hpp>

namespace warpgate {

enum class Family : std::uint8_t { v4 = 4, v6 = 6 };
enum class Transport : std::uint8_t { tcp = 1, udp = 2 };
inline constexpr Family IP4 = Family::v4;
inline constexpr Family IP6 = Family::v6;
inline constexpr Transport TCP = Transport::tcp;
inline constexpr Transport UDP = Transport::udp;

const char* to_string(Family f) noexcept;
const char* to_string(Transport t) noexcept;
Result<Transport> parse_transport(std::string_view text);

inline Family family_of(const asio::ip::address& a) noexcept { return a.is_v6() ? IP6 : IP4; }

struct Endpoint {
    asio::ip::address ip;
    std::uint16_t port = 0;

    Family family() const noexcept { return family_of(ip); }
    // "1.2.3.4:5" or "[::1]:5"
    std::string to_string() const;
    // Accepts "1.2.3.4:5", "[::1]:5"; the host must be a literal IP.
    static Result<Endpoint> parse(std::string_view text);
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// A server given as "host:port" in the configuration: host may be a name, resolved at use.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;

    std::string to_string() const;
    // Accepts "host:port", "1.2.3.4:5", "[::1]:5"; default_port when ":port" is absent.
    static Result<HostPort> parse(std::string_view text, std::uint16_t default_port = 0);
    friend bool operator==(const HostPort&, const HostPort&) = default;
};

}  // namespace warpgate
