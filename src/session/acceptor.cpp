#include "session/acceptor.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "crypto/handshake.hpp"
#include "net/timeout.hpp"

namespace warpgate::session {
namespace {

using Clock = std::chrono::steady_clock;
// A plaintext hello (type, version, flags, sender id, connection id): the smallest there is.
constexpr std::size_t smallest_hello = 3 + id_size + std::tuple_size_v<ConnectionId>;
constexpr std::size_t udp_refusal_limit = 32;
static_assert(udp_refusal_limit >= sealed_prefix + std::string_view("encryption unsupported").size());

}  // namespace

Acceptor::Acceptor(asio::any_io_executor ex, AcceptorOptions options, std::shared_ptr<Demux> demux)
    : executor_(ex), options_(options), demux_(std::move(demux)), sweep_timer_(ex) {}

void Acceptor::start(Established on_established) {
    on_established_ = std::move(on_established);
    std::weak_ptr<Acceptor> weak = shared_from_this();
    demux_->on_hello([weak](std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from) {
        if (auto self = weak.lock()) self->on_udp_hello(record, socket, from);
    });
    demux_->on_path_hello([weak](std::span<std::uint8_t> record, const PathPtr& path) {
        if (auto self = weak.lock()) self->on_path_hello(record, path);
    });
    asio::co_spawn(executor_, sweep(weak), asio::detached);
}

void Acceptor::close() {
    closed_ = true;
    sweep_timer_.cancel();
    demux_->on_hello(nullptr);
    demux_->on_path_hello(nullptr);
    auto half_open = std::move(half_open_);
    half_open_.clear();
    half_open_by_source_.clear();
    half_open_by_session_.clear();
    half_open_per_ip_.clear();
    for (auto& h : half_open) h.session->close();
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& p : pending)
        if (auto path = p.path.lock()) path->close();
    on_established_ = nullptr;
    claims_.clear();
}

std::size_t Acceptor::count_from(const asio::ip::address& ip) const {
    auto it = half_open_per_ip_.find(ip);
    return it == half_open_per_ip_.end() ? 0 : it->second;
}

void Acceptor::add_half_open(HalfOpen entry) {
    auto it = half_open_.insert(half_open_.end(), std::move(entry));
    half_open_by_source_[{it->from.ip, it->from.port, it->initiator}] = it;
    half_open_by_session_[it->session.get()] = it;
    ++half_open_per_ip_[it->from.ip];
}

Acceptor::HalfOpen Acceptor::take_half_open(HalfOpenList::iterator entry) {
    auto taken = std::move(*entry);
    half_open_.erase(entry);
    half_open_by_source_.erase({taken.from.ip, taken.from.port, taken.initiator});
    half_open_by_session_.erase(taken.session.get());
    if (auto per_ip = half_open_per_ip_.find(taken.from.ip); per_ip != half_open_per_ip_.end() && --per_ip->second == 0)
        half_open_per_ip_.erase(per_ip);
    return taken;
}

void Acceptor::accept_tcp(asio::ip::tcp::socket socket) {
    asio::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec || closed_) return;  // reset before we looked at it
    Endpoint from{remote.address(), remote.port()};
    for (auto& [claimed, to] : claims_) {
        if (claimed != from) continue;
        auto claimer = to;  // it may release (and so destroy) its claim from inside
        claimer(std::make_shared<TcpPath>(std::move(socket)));
        return;
    }
    accept_tcp(std::make_shared<TcpPath>(std::move(socket)));
}

void Acceptor::claim_tcp(const Endpoint& remote, TcpClaim to) {
    release_tcp(remote);
    claims_.emplace_back(remote, std::move(to));
    // The peer's SYN may have reached the listener before the claim (or before our connect,
    // which then fails with "that connection exists already"): a connection from `remote`
    // that sent no hello yet is the claimer's, not a stranger's waiting here.
    auto waiting = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
        auto path = p.path.lock();
        return path && path->remote() == remote;
    });
    if (waiting == pending_.end()) return;
    auto path = waiting->path.lock();
    pending_.erase(waiting);
    auto claimer = claims_.back().second;  // it may release (and so destroy) its claim from inside
    claimer(std::move(path));
}

void Acceptor::release_tcp(const Endpoint& remote) {
    std::erase_if(claims_, [&](const auto& c) { return c.first == remote; });
}

void Acceptor::accept_tcp(std::shared_ptr<TcpPath> path) {
    if (closed_ || !path->is_open()) {
        path->close();
        return;
    }
    auto ip = path->remote().ip;
    auto from_ip = static_cast<std::size_t>(
        std::count_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.ip == ip; }));
    if (from_ip >= options_.max_pending_tcp_per_ip) {
        refusals_.refuse("too many pending connections from one address",
                         fmt::format("{} has {} connections without a hello: closed another", ip.to_string(), from_ip));
        path->close();
        return;
    }
    if (pending_.size() >= options_.max_pending_tcp) {
        // Refusing the newest would let a flood from a few dozen addresses lock out everyone
        // else until it stops: make room by closing the oldest connection of the address that
        // holds the most instead.
        auto victim = crowdest_pending();
        refusals_.refuse("too many pending connections",
                         fmt::format("{} connections without a hello yet: closed the oldest from {}", pending_.size(),
                                     victim->ip.to_string()));
        auto crowded = victim->path.lock();
        pending_.erase(victim);
        if (crowded) crowded->close();
    }
    pending_.push_back({path, Clock::now() + options_.session.handshake_timeout, ip});
    std::weak_ptr<Acceptor> weak = shared_from_this();
    std::weak_ptr<TcpPath> weak_path = path;
    path->start(
        [weak, weak_path](StreamRecord& record) -> asio::awaitable<bool> {
            auto self = weak.lock();
            auto p = weak_path.lock();
            if (!self || !p) co_return false;
            // Whole: records before a session are far below TcpPath::split_from.
            bool keep = co_await self->on_tcp_record(record.head, p);
            co_return keep;
        },
        [weak, raw = path.get()](Error) {
            if (auto self = weak.lock()) self->drop_pending(raw);
        },
        max_introduction_record);
}

std::deque<Acceptor::Pending>::iterator Acceptor::crowdest_pending() {
    std::map<asio::ip::address, std::size_t> per_ip;
    for (auto& p : pending_) ++per_ip[p.ip];
    auto most = std::max_element(per_ip.begin(), per_ip.end(), [](auto& a, auto& b) { return a.second < b.second; });
    return std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.ip == most->first; });
}

void Acceptor::drop_pending(const TcpPath* path) {
    std::erase_if(pending_, [&](const Pending& p) {
        auto alive = p.path.lock();
        return !alive || alive.get() == path;
    });
}

asio::awaitable<bool> Acceptor::on_tcp_record(std::span<std::uint8_t> record, const std::shared_ptr<TcpPath>& path) {
    drop_pending(path.get());
    if (closed_) co_return false;
    if (record[0] == static_cast<std::uint8_t>(RecordType::sealed)) {
        // A link moving to this new stream (session.hpp, migrate): it must authenticate.
        auto receiver = receiver_of(record);
        auto session = receiver ? demux_->find(*receiver) : nullptr;
        bool joined = false;
        if (session) joined = co_await session->on_join(record, path);
        if (!joined) {
            refusals_.refuse("bad join", path->remote().to_string() + " sent a stream join no link accepts");
            co_return false;
        }
        auto callbacks = stream_callbacks(session, path.get());
        path->set_sink(std::move(callbacks.first), std::move(callbacks.second));
        co_return true;
    }
    if (record[0] != static_cast<std::uint8_t>(RecordType::hello)) {
        refusals_.refuse("no hello", fmt::format("{} sent a record of type 0x{:02X} before any hello", path->remote().to_string(), record[0]));
        co_return false;
    }
    auto session = introduce(record, path);
    if (!session) co_return false;
    auto callbacks = stream_callbacks(session, path.get());  // (no structured bindings in coroutines: GCC 12)
    path->set_sink(std::move(callbacks.first), std::move(callbacks.second));
    co_return true;
}

bool Acceptor::answered_again(std::span<std::uint8_t> record, const Endpoint& from) {
    auto sender = record.size() >= 7 ? get_id(record.data() + 3) : 0;
    auto known = half_open_by_source_.find({from.ip, from.port, sender});
    if (known == half_open_by_source_.end()) return false;
    auto& h = *known->second;
    auto& hello = h.session->hello();
    if (std::equal(record.begin(), record.end(), hello.begin(), hello.end())) h.session->path()->send_now(h.session->reply());
    return true;
}

void Acceptor::on_udp_hello(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from) {
    if (closed_ || answered_again(record, from)) return;
    introduce(record, std::make_shared<UdpPath>(socket, from));
}

void Acceptor::on_path_hello(std::span<std::uint8_t> record, const PathPtr& path) {
    if (closed_ || answered_again(record, path->remote())) return;
    introduce(record, path);
}

std::shared_ptr<Session> Acceptor::introduce(std::span<std::uint8_t> record, const PathPtr& path) {
    auto hello = decode_hello(record);
    auto who = path->remote().to_string();
    if (!hello) {
        refusals_.refuse("bad hello", who + ": " + hello.error().message);
        if (hello.error().code == Errc::unsupported && record.size() >= 7)
            refuse(*path, get_id(record.data() + 3), "version unsupported", record.size());
        return nullptr;
    }
    if (!hello->secure && options_.require_encryption) {
        refusals_.refuse("plaintext hello", who + " asked for a plaintext link; this node requires encryption");
        refuse(*path, hello->sender, "needs encryption", record.size());
        return nullptr;
    }
    if (hello->secure && !options_.identity) {
        refusals_.refuse("secure hello", who + " asked for an encrypted link; this listener has no identity");
        refuse(*path, hello->sender, "encryption unsupported", record.size());
        return nullptr;
    }
    if (auto from_ip = count_from(path->remote().ip); from_ip >= options_.max_half_open_per_ip) {
        refusals_.refuse("too many introductions from one address",
                         fmt::format("{} has {} unconfirmed introductions", path->remote().ip.to_string(), from_ip));
        return nullptr;
    }
    if (half_open_.size() >= options_.max_half_open) {
        auto oldest = take_half_open(half_open_.begin());
        refusals_.refuse("half-open table full",
                         fmt::format("{} unconfirmed introductions: evicted the oldest, from {}", options_.max_half_open,
                                     oldest.from.to_string()));
        oldest.session->abort_introduction({Errc::refused, "evicted: too many unconfirmed introductions"});
    }
    auto session = Session::create(executor_, options_.pipe, options_.session, Session::Role::responder, path, demux_);
    Reply reply;
    reply.receiver = hello->sender;
    reply.sender = session->local_id();
    reply.secure = hello->secure;
    if (hello->secure) {
        auto answer = crypto::Handshake::responder(*options_.identity).on_hello(hello->handshake);
        if (!answer) {
            refusals_.refuse("handshake failed", who + ": " + answer.error().message);
            refuse(*path, hello->sender, "handshake failed", record.size());
            session->abort_introduction(answer.error());
            return nullptr;
        }
        session->set_keys(answer->second);
        reply.handshake = std::move(answer->first);
    }
    session->set_remote(hello->sender);
    auto reply_record = encode_reply(reply);
    std::weak_ptr<Acceptor> weak = shared_from_this();
    session->await_confirmation(Bytes(record.begin(), record.end()), reply_record, hello->con_id,
                                [weak](const std::shared_ptr<Session>& s, const ConnectionId& id) {
                                    if (auto self = weak.lock()) self->established(s, id);
                                });
    add_half_open({session, Clock::now() + options_.session.handshake_timeout, path->remote(), hello->sender});
    path->send_now(reply_record);
    return session;
}

void Acceptor::refuse(Path& path, SessionId initiator, std::string_view reason, std::size_t hello_size) {
    if (initiator == 0) return;
    auto limit = max_reason_size;  // TCP's handshake already proved the source address
    if (path.transport() == UDP) {
        // A spoofed UDP hello must not make us an amplifier: nothing shorter than a hello is
        // answered, and a refusal is at most as large as the hello or 32 bytes (1.4 times the
        // smallest hello): room for every reason given here, whole, since the refused side
        // prints it.
        if (hello_size < smallest_hello) return;
        limit = std::max(hello_size, udp_refusal_limit) - sealed_prefix;
    }
    auto record = encode_refuse({initiator, std::string(reason.substr(0, limit))});
    path.send_now(record);
}

void Acceptor::established(const std::shared_ptr<Session>& session, const ConnectionId& con_id) {
    if (auto known = half_open_by_session_.find(session.get()); known != half_open_by_session_.end()) take_half_open(known->second);
    if (closed_ || !on_established_) {
        session->close();
        return;
    }
    on_established_(session, con_id);
}

asio::awaitable<void> Acceptor::sweep(std::weak_ptr<Acceptor> weak) {
    for (;;) {
        asio::steady_timer* timer = nullptr;
        {
            auto self = weak.lock();
            if (!self || self->closed_) co_return;
            timer = &self->sweep_timer_;
            auto tick = std::clamp(self->options_.session.handshake_timeout / 20, std::chrono::milliseconds(20),
                                   std::chrono::milliseconds(250));
            timer->expires_after(tick);
        }
        asio::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto self = weak.lock();
        if (!self || self->closed_) co_return;
        auto now = Clock::now();
        auto budget = net::describe(self->options_.session.handshake_timeout);
        while (!self->half_open_.empty() && self->half_open_.front().deadline <= now) {
            auto expired = self->take_half_open(self->half_open_.begin());
            self->refusals_.refuse("introduction timed out",
                                   expired.from.to_string() + " did not confirm its keys within " + budget);
            expired.session->abort_introduction({Errc::timeout, "no key confirmation within " + budget});
        }
        while (!self->pending_.empty() && self->pending_.front().deadline <= now) {
            auto expired = std::move(self->pending_.front());
            self->pending_.pop_front();
            if (auto path = expired.path.lock()) {
                self->refusals_.refuse("no hello in time", path->remote().to_string() + " sent no hello within " + budget);
                path->close();
            }
        }
    }
}

}  // namespace warpgate::session
