#include "net/resolve.hpp"

#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "net/timeout.hpp"

namespace warpgate::net {
namespace {

// Shared by the waiting coroutine and the lookup's completion handler, which keeps it (and the
// resolver) alive for as long as getaddrinfo runs, even after the waiter gave up.
struct Lookup {
    explicit Lookup(const asio::any_io_executor& ex) : resolver(ex), answered(ex) {}
    asio::ip::udp::resolver resolver;
    asio::steady_timer answered;  // cancelled by the completion handler
    bool done = false;
    asio::error_code ec;
    std::vector<Endpoint> found;
};

}  // namespace

asio::awaitable<Result<std::vector<Endpoint>>> resolve(asio::any_io_executor executor, HostPort server, std::optional<Family> family,
                                                       std::chrono::milliseconds timeout) {
    asio::error_code literal_ec;
    auto literal = asio::ip::make_address(server.host, literal_ec);
    if (!literal_ec) {
        if (family && family_of(literal) != *family)
            co_return fail(Errc::unsupported, fmt::format("{} is not an {} address", server.host, to_string(*family)));
        std::vector<Endpoint> only(1);  // (no braced temporaries in a coroutine: GCC 12)
        only[0].ip = literal;
        only[0].port = server.port;
        co_return only;
    }
    auto lookup = std::make_shared<Lookup>(executor);
    auto on_answer = [lookup](const asio::error_code& ec, const asio::ip::udp::resolver::results_type& results) {
        lookup->done = true;
        lookup->ec = ec;
        for (auto& entry : results) lookup->found.push_back({entry.endpoint().address(), entry.endpoint().port()});
        lookup->answered.cancel();
    };
    auto service = std::to_string(server.port);
    if (family) lookup->resolver.async_resolve(*family == IP6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), server.host, service, on_answer);
    else lookup->resolver.async_resolve(server.host, service, on_answer);

    lookup->answered.expires_after(timeout);
    asio::error_code wait_ec;
    co_await lookup->answered.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
    auto stop = co_await cancelled();
    if (stop || !lookup->done) lookup->resolver.cancel();  // a lookup not yet started is skipped
    if (stop) co_return fail(Errc::cancelled, "resolving " + server.host + " cancelled");
    if (!lookup->done) co_return fail(Errc::timeout, "resolving " + server.host + " timed out after " + describe(timeout));
    auto which = family ? std::string(" for ") + to_string(*family) : std::string();
    if (lookup->ec) co_return fail(Errc::unreachable, fmt::format("cannot resolve {}{}: {}", server.host, which, lookup->ec.message()));
    if (lookup->found.empty()) co_return fail(Errc::unreachable, fmt::format("no address for {}{}", server.host, which));
    co_return std::move(lookup->found);
}

}  // namespace warpgate::net
