#include "session/introduction.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "crypto/handshake.hpp"
#include "net/timeout.hpp"
#include "session/demux.hpp"

namespace warpgate::session {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds first_retransmit{100};
constexpr std::chrono::milliseconds max_retransmit{1000};

// Sends (by `send`) until `heard` says so, repeating on UDP with backoff, within `deadline`.
template <class Send, class Heard>
asio::awaitable<void> repeat_until(Session& session, Send send, Heard heard, Clock::time_point deadline, const char* what) {
    auto interval = session.transport() == UDP ? first_retransmit : std::chrono::milliseconds::max();
    std::string send_failure;  // on UDP a failed send is a lost datagram; named if nothing answers
    while (!heard()) {
        if (!session.is_open()) throw Exception(*session.close_reason());
        if (Clock::now() >= deadline)
            throw Exception(Errc::timeout, std::string("no ") + what + " from " + session.remote_endpoint().to_string() +
                                               " within " + net::describe(session.settings().handshake_timeout) + send_failure);
        try {
            co_await send();
        } catch (const Exception& e) {
            if (session.transport() != UDP) throw;
            send_failure = " (last send failed: " + e.error().message + ")";
        }
        auto wake = interval == std::chrono::milliseconds::max() ? deadline : std::min(deadline, Clock::now() + interval);
        co_await session.wait_heard(wake);
        auto stop = co_await net::cancelled();
        if (stop) throw Exception(Errc::cancelled, "link introduction cancelled");
        if (interval != std::chrono::milliseconds::max()) interval = std::min(interval * 2, max_retransmit);
    }
}

void start_reading(const std::shared_ptr<Session>& session, const Initiation& how) {
    if (auto tcp = std::dynamic_pointer_cast<TcpPath>(how.path)) {
        auto [sink, on_end] = stream_callbacks(session, tcp.get());
        tcp->start(std::move(sink), std::move(on_end), max_introduction_record);
        return;
    }
    if (!how.demux) throw Exception(Errc::config, "a UDP link needs the node's demultiplexer");
    auto udp = std::dynamic_pointer_cast<UdpPath>(how.path);
    if (!udp) {
        how.demux->serve_path(how.path, false);  // a relay's path reads itself
        return;
    }
    if (!udp->owns_socket()) return;  // a listen socket: the node's demultiplexer reads it already
    std::weak_ptr<Session> weak = session;
    auto on_refused = [weak, raw = udp.get(), remote = udp->remote()] {
        if (auto s = weak.lock())
            s->on_path_end(raw, {Errc::refused, "nothing listens at " + remote.to_string() + " (ICMP port unreachable)"});
    };
    asio::co_spawn(session->get_executor(), how.demux->serve(udp->socket(), false, on_refused), asio::detached);
}

}  // namespace

asio::awaitable<std::shared_ptr<Session>> initiate(Initiation how) {
    auto ex = co_await asio::this_coro::executor;
    auto session = Session::create(ex, how.pipe, how.settings, Session::Role::initiator, how.path, how.demux);
    struct CloseOnFailure {
        std::shared_ptr<Session> session;
        bool armed = true;
        ~CloseOnFailure() {
            if (armed) session->close();
        }
    } guard{session};
    start_reading(session, how);

    bool secure = how.identity != nullptr;
    std::optional<crypto::Handshake> handshake;
    if (secure) handshake.emplace(crypto::Handshake::initiator(*how.identity, how.expected_peer_key));
    Hello hello;
    hello.sender = session->local_id();
    hello.con_id = how.con_id;
    hello.secure = secure;
    if (secure) hello.handshake = handshake->hello();
    auto hello_record = encode_hello(hello);

    auto deadline = Clock::now() + how.settings.handshake_timeout;
    auto& heard = session->heard();
    auto send_hello = [&]() { return session->send_raw(hello_record); };
    auto answered = [&] { return heard.reply || heard.refused; };
    co_await repeat_until(*session, send_hello, answered, deadline, "answer to the link hello");
    auto peer = session->remote_endpoint().to_string();
    if (heard.refused) throw Exception(Errc::refused, peer + " refused the link: " + *heard.refused);
    auto& reply = *heard.reply;
    if (reply.receiver != session->local_id() || reply.secure != secure)
        throw Exception(Errc::auth_failed, peer + " answered with a reply that does not match the hello");
    if (secure) {
        auto keys = handshake->on_reply(reply.handshake);
        if (!keys) throw Exception(keys.error().code, "link handshake with " + peer + ": " + keys.error().message);
        session->set_keys(*keys);
    }
    session->set_remote(reply.sender);

    // Each confirmation is a fresh record (a new counter), so repeats are not replays.
    auto send_confirm = [&]() { return session->send_control(Kind::confirm); };
    auto acknowledged = [&] { return heard.acknowledged; };
    co_await repeat_until(*session, send_confirm, acknowledged, deadline, "acknowledgement of the link confirmation");
    session->establish();
    guard.armed = false;
    co_return session;
}

}  // namespace warpgate::session
