#include "support/session_server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

namespace warpgate::test {
namespace {

Endpoint loopback(Family f) {
    if (f == IP6) return {asio::ip::address_v6::loopback(), 0};
    return {asio::ip::address_v4::loopback(), 0};
}

}  // namespace

SessionServer::SessionServer(asio::io_context& io, SessionServerOptions options)
    : io_(io), options_(options), identity_(crypto::IdentityKey::generate()), demux_(std::make_shared<session::Demux>()) {
    tcp_ = value_or_throw(net::TcpServer::bind(io.get_executor(), loopback(options.family), false));
    udp_ = value_or_throw(net::UdpServer::bind(io.get_executor(), {loopback(options.family).ip, tcp_->local_endpoint().port}, false));
    session::AcceptorOptions acceptor;
    acceptor.identity = &identity_;
    acceptor.require_encryption = options.require_encryption;
    acceptor.pipe = options.pipe;
    acceptor.session = options.settings;
    acceptor.max_half_open = options.max_half_open;
    acceptor.max_half_open_per_ip = options.max_half_open_per_ip;
    acceptor.max_pending_tcp = options.max_pending_tcp;
    acceptor.max_pending_tcp_per_ip = options.max_pending_tcp_per_ip;
    acceptor_ = std::make_shared<session::Acceptor>(io.get_executor(), acceptor, demux_);
    acceptor_->start([this](const std::shared_ptr<session::Session>& s, const session::ConnectionId&) {
        PipePtr link = s;
        std::erase_if(links_, [](const PipePtr& p) { return !p->is_open(); });
        links_.push_back(link);
        if (on_link_) return on_link_(link);
        if (options_.echo)
            link->subscribe({}, [](Message m, Endpoint, Pipe& p) -> asio::awaitable<void> { co_await p.send(m); });
    });
    asio::co_spawn(io, tcp_->run([acceptor = acceptor_](asio::ip::tcp::socket s) { acceptor->accept_tcp(std::move(s)); }),
                   asio::detached);
    asio::co_spawn(io, demux_->serve(udp_->socket(), true), asio::detached);
}

SessionServer::~SessionServer() { close(); }

void SessionServer::close() {
    acceptor_->close();
    for (auto& link : links_) link->close();
    links_.clear();
    tcp_->close();
    udp_->close();
}

asio::awaitable<PipePtr> dial_session(Transport transport, Endpoint server, const Bytes& server_key,
                                      std::shared_ptr<session::Demux> demux, session::SessionSettings settings,
                                      const crypto::IdentityKey* identity) {
    static const auto own = crypto::IdentityKey::generate();
    session::Initiation how;
    if (transport == TCP) how.path = co_await session::dial_tcp(server, std::nullopt);
    else how.path = session::open_udp(co_await asio::this_coro::executor, server, std::nullopt);
    how.identity = server_key.empty() ? nullptr : (identity ? identity : &own);
    how.expected_peer_key = server_key;
    how.settings = settings;
    how.demux = std::move(demux);
    auto session = co_await session::initiate(std::move(how));
    co_return session;
}

}  // namespace warpgate::test
