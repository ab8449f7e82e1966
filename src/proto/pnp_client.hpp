// PNP client (docs/pnp.md): register, look up and delete nicknames on the configured servers,
// each named by HOST:PORT and its public key. Over UDP a request is retransmitted every RTO
// (doubling) up to max_sends times; over TCP it is one framed exchange. A server that is not
// there (ICMP port unreachable, TCP refused) is skipped at once, a silent one after `timeout`.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <warpgate/config.hpp>
#include <warpgate/error.hpp>

#include "crypto/identity.hpp"
#include "proto/pnp.hpp"

namespace warpgate::pnp {

struct ClientOptions {
    std::chrono::milliseconds timeout{2000};  // per server, every retransmission included
    std::chrono::milliseconds rto{250};
    int max_sends = 4;
    bool tcp = false;
    std::uint16_t lifetime_s = 60;
    // The clock requests are stamped with (tests move it to make stale requests).
    std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

// A fresh request: random id and reply key, stamped by `clock`.
Request make_request(Op op, const crypto::IdentityKey& owner, std::string name, Bytes value, const ClientOptions& options);

// One request to one server: its reply (whatever the status), or why none came
// (Errc::timeout, refused for nothing listening, unreachable for a name without address).
asio::awaitable<Result<Reply>> exchange(asio::any_io_executor executor, const NicknameServer& server, const Request& request,
                                        const crypto::IdentityKey& signer, const ClientOptions& options);

// A reply's refusal as an Error a user can act on (Errc::refused, or not_found as unreachable).
Error refusal_error(const Reply& reply, std::string_view server, std::string_view name);

// The value `name` maps to on `servers`, looked up under a fresh key (a lookup need not be
// linkable to the caller): Errc::config with no server configured (saying how to run one),
// the refusal (not_found as Errc::unreachable) or every server's transport error otherwise.
asio::awaitable<Result<std::string>> resolve(asio::any_io_executor executor, std::vector<NicknameServer> servers, std::string_view name);

class Client {
public:
    Client(asio::any_io_executor executor, std::vector<NicknameServer> servers, crypto::IdentityKey key, ClientOptions options = {});

    // ".p2p" for one server (pnp::tld).
    std::string tld() const;
    // NAME or NAME.TLD to the bare name; Errc::config for a wrong TLD or an invalid name.
    Result<std::string> bare_name(std::string_view name) const;

    // On every server. The first ok reply (its expiry); when no server accepted, the refusal
    // or transport error of each. A name resolves as soon as this returns.
    asio::awaitable<Result<Reply>> register_name(std::string_view name, ByteView value);
    // The first server holding the name wins; not_found only when none has it.
    asio::awaitable<Result<Reply>> lookup(std::string_view name);
    asio::awaitable<Result<Reply>> remove(std::string_view name);

private:
    asio::awaitable<Result<Reply>> on_each(Op op, std::string_view name, ByteView value, bool first_ok_wins);

    asio::any_io_executor executor_;
    std::vector<NicknameServer> servers_;
    crypto::IdentityKey key_;
    ClientOptions options_;
};

}  // namespace warpgate::pnp
