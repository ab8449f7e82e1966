// STUN Binding client (RFC 8489 §6.2, §7) over UDP and TCP, IPv4 and IPv6.
// Asio coroutines; every wait is bounded by the retransmission budget or a timeout and stops
// promptly when the awaiting operation is cancelled (the result is then Errc::cancelled).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <optional>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>
#include "proto/stun_binding.hpp"
#include "proto/stun_port.hpp"

namespace warpgate::stun {

// RFC 8489 §6.2.1: send at 0, RTO, 3 RTO, 7 RTO ... (the interval doubles), Rc requests in
// all, then wait Rm * RTO for the last one. The RFC's values give up after 39.5 s; a node
// that must skip dead servers quickly uses a shorter budget (within(1500 ms)).
struct RetransmitPolicy {
    std::chrono::milliseconds rto{500};
    int max_requests = 7;     // Rc
    int last_wait_rtos = 16;  // Rm

    std::chrono::milliseconds budget() const;  // time until the transaction fails
    static RetransmitPolicy rfc8489() { return {}; }
    // Rc = 4, Rm = 8 and the RTO that makes the whole transaction fit the budget (15 RTOs).
    static RetransmitPolicy within(std::chrono::milliseconds budget) { return {budget / 15, 4, 8}; }
};

struct ClientOptions {
    RetransmitPolicy udp;
    std::chrono::milliseconds tcp_timeout{39500};  // RFC 8489 §6.2.2
    bool fingerprint = true;
};

struct BindingResult {
    BindingResponse response;
    Endpoint server;  // where the request went
    Endpoint source;  // where the response came from: the other address after a CHANGE-REQUEST
    Endpoint local;   // the client socket's own address
    int requests = 1; // transmissions it took (1 = no retransmission)
    // From the latest transmission to the answer: the round trip time when requests == 1.
    std::chrono::microseconds rtt{0};
};

// One Binding transaction over a STUN port, so that NAT tests can reuse one mapping for
// several requests and accept the answer to a CHANGE-REQUEST from the server's other address.
// Transactions on one port run concurrently: each gets the responses carrying its
// transaction id. Responses that do not decode are ignored (counted in the timeout's message);
// an error response ends the transaction with Errc::refused; no valid answer within the
// policy's budget: Errc::timeout.
asio::awaitable<Result<BindingResult>> udp_binding(StunPort& port, Endpoint server, std::optional<ChangeRequest> change,
                                                   ClientOptions options);

// One Binding transaction over its own TCP connection (RFC 8489 §6.2.2), made from
// local (port 0: any port) to server; Errc::timeout after options.tcp_timeout.
asio::awaitable<Result<BindingResult>> tcp_binding(asio::any_io_executor executor, Endpoint local, Endpoint server,
                                                   ClientOptions options);

// Either transport from a fresh socket bound to local (port 0: any port). TCP sockets are
// bound with SO_REUSEADDR and SO_REUSEPORT, so local may be a port a listening socket holds
// (when that one set SO_REUSEPORT too): the mapping seen is then the listen port's.
asio::awaitable<Result<BindingResult>> binding(asio::any_io_executor executor, Transport transport, Endpoint local,
                                               Endpoint server, ClientOptions options);

// A configured server as an endpoint of the given family: IP literals directly, names through
// the system resolver (tests pass literals only), which gets `timeout` (net/resolve.hpp).
asio::awaitable<Result<Endpoint>> resolve_server(asio::any_io_executor executor, HostPort server, Family family,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(3));

// A fresh random transaction id (RFC 8489 §6: cryptographically random).
TransactionId random_transaction_id();

}  // namespace warpgate::stun
