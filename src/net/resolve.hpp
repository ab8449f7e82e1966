// Name resolution with a deadline that holds. Asio's resolver runs getaddrinfo on a background
// thread that neither a timeout nor cancellation can interrupt, so `with_timeout` around
// async_resolve would still wait for getaddrinfo (tens of seconds for a dead DNS server). Here
// the lookup runs on its own and the caller waits only on a timer: it returns at the timeout
// or on cancellation; a late answer is dropped.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <vector>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

namespace warpgate::net {

// The addresses of `server.host` (a literal IP is returned as is) with server.port, only of
// `family` when given. Errc::unreachable when the name has no address (of that family),
// Errc::timeout after `timeout`, Errc::cancelled when the awaiting operation is cancelled.
asio::awaitable<Result<std::vector<Endpoint>>> resolve(asio::any_io_executor executor, HostPort server, std::optional<Family> family,
                                                       std::chrono::milliseconds timeout);

}  // namespace warpgate::net
