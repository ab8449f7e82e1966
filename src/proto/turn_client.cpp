#include "proto/turn_client.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/experimental/channel_error.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include "log.hpp"

#include "net/timeout.hpp"

namespace warpgate::turn {

// In the coroutines below, locals of class type with members that own memory are filled in
// member by member, never brace-initialised: GCC 12 destroys such an aggregate twice when it
// lives in a coroutine frame.
namespace {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int max_challenges = 4;  // 401 then 438s: more means the server is looping

bool is_channel_data(ByteView frame) { return !frame.empty() && frame[0] >= 0x40 && frame[0] <= 0x4F; }

}  // namespace

// A transaction waiting for its response: the receive loop hands it over through the queue.
struct Client::Pending {
    explicit Pending(asio::any_io_executor ex) : queue(ex, 1) {}
    asio::experimental::channel<void(asio::error_code, Bytes)> queue;
};

// A verified response: the message's attributes are views into `bytes`.
struct Client::Response {
    Bytes bytes;
    stun::Message message;
};

Client::Client(asio::any_io_executor executor, ClientOptions options, std::unique_ptr<Transport> transport)
    : executor_(executor), options_(std::move(options)), transport_(std::move(transport)), tasks_(executor) {}

Client::~Client() { transport_->close(); }

Endpoint Client::local() const { return transport_->local(); }

std::string Client::server_name() const { return options_.server.to_string(); }

std::string Client::describe() const {
    return fmt::format("TURN {} {} -> {} (relayed {})", to_string(options_.transport), local().to_string(), server_name(),
                       allocation_.relayed.empty() ? "none" : relayed().to_string());
}

asio::awaitable<std::shared_ptr<Client>> Client::allocate(asio::any_io_executor executor, ClientOptions options) {
    auto transport = co_await connect_transport(executor, options.transport, options.server, options.local_ip, options.tls,
                                                options.connect_timeout);
    std::shared_ptr<Client> client(new Client(executor, std::move(options), std::move(transport)));
    // The tasks hold the client until close() or the end of the allocation.
    client->tasks_.spawn([](std::shared_ptr<Client> self) -> asio::awaitable<void> { co_await self->receive_loop(); }(client),
                         "turn receive");
    std::exception_ptr failure;
    try {
        AllocateRequest r{client->options_.lifetime, client->options_.family, false, client->options_.relay};
        auto response = co_await client->request(method::allocate, [r](const stun::TransactionId& id, const Credentials* c) {
            return encode(id, r, c);
        });
        auto allocation = read_allocate_success(response.message);
        if (!allocation)
            throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", client->server_name(), allocation.error().message));
        client->allocation_ = std::move(*allocation);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        client->open_ = false;
        client->transport_->close();
        client->tasks_.cancel_all();
        co_await client->tasks_.wait();
        std::rethrow_exception(failure);
    }
    client->schedule_refresh();
    auto lifetime = client->allocation_.lifetime;
    client->tasks_.spawn([](std::shared_ptr<Client> self) -> asio::awaitable<void> { co_await self->maintain(); }(client),
                         "turn maintain");
    log::debug("turn: {} allocated for {} s", client->describe(), lifetime.count());
    co_return client;
}

asio::awaitable<Bytes> Client::transact(const stun::TransactionId& id, const Bytes& message, stun::Method method) {
    if (!open_ && ended_) throw Exception(Errc::closed, ended_->message);
    Pending pending(executor_);
    pending_[id] = &pending;
    struct Unregister {
        std::map<stun::TransactionId, Pending*>& pending;
        stun::TransactionId id;
        ~Unregister() { pending.erase(id); }
    } unregister{pending_, id};

    const bool reliable = transport_->reliable();
    const int sends = reliable ? 1 : options_.udp.max_requests;
    auto interval = options_.udp.rto;
    for (int n = 1; n <= sends; ++n) {
        if (n > 1) ++stats_.retransmissions;
        co_await transport_->send(message);
        auto wait = reliable ? options_.stream_timeout : n == sends ? options_.udp.rto * options_.udp.last_wait_rtos : interval;
        interval *= 2;
        asio::steady_timer timer(executor_, wait);
        auto first = co_await (pending.queue.async_receive(as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
        if (first.index() == 0) {
            auto [ec, bytes] = std::get<0>(std::move(first));
            if (ec == asio::experimental::error::channel_cancelled) throw Exception(Errc::cancelled, method_name(method) + " cancelled");
            if (ec) throw Exception(Errc::closed, ended_ ? ended_->message : "the TURN client is closed");
            co_return std::move(bytes);
        }
        auto [timer_ec] = std::get<1>(first);
        if (timer_ec) throw Exception(Errc::cancelled, method_name(method) + " cancelled");
    }
    auto budget = reliable ? options_.stream_timeout : options_.udp.budget();
    throw Exception(Errc::timeout, fmt::format("TURN server {} did not answer {} ({} over {}, {} ms)", server_name(), method_name(method),
                                               sends == 1 ? "1 request" : std::to_string(sends) + " requests",
                                               to_string(options_.transport), budget.count()));
}

asio::awaitable<Client::Response> Client::request(stun::Method method, Encoder encode) {
    for (int round = 0; round < max_challenges; ++round) {
        auto id = stun::random_transaction_id();
        const Credentials* signing = credentials_ ? &*credentials_ : nullptr;
        auto message = encode(id, signing);
        auto bytes = co_await transact(id, message, method);
        auto m = stun::decode(bytes);  // the receive loop decoded it once already
        if (!m) throw Exception(Errc::malformed, m.error().message);
        if (m->cls == stun::MessageClass::success) {
            if (signing) {
                auto verified = verify_integrity(bytes, *m, signing->key);
                if (!verified)
                    throw Exception(Errc::auth_failed, fmt::format("TURN server {}: the {} response does not verify: {}", server_name(),
                                                                   method_name(method), verified.error().message));
            }
            Response response;
            response.message = std::move(*m);
            response.bytes = std::move(bytes);  // the heap buffer the message's views point into moves along
            co_return response;
        }
        auto e = read_error_response(*m);
        if (!e) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server_name(), e.error().message));
        if (e->code == unauthenticated) {
            if (signing)
                throw Exception(Errc::auth_failed, fmt::format("TURN server {} refused the credentials for user {} (401 after authentication)",
                                                               server_name(), options_.username));
            if (!e->realm || !e->nonce)
                throw Exception(Errc::malformed, fmt::format("TURN server {} sent 401 without REALM and NONCE", server_name()));
            Credentials c;
            c.username = options_.username;
            c.realm = *e->realm;
            c.nonce = *e->nonce;
            c.password_algorithms = e->password_algorithms;
            if (!c.password_algorithms.empty()) {
                auto offered = read_password_algorithms({stun::attr::password_algorithms, c.password_algorithms});
                auto has = [&](PasswordAlgorithm a) { return std::count(offered->begin(), offered->end(), static_cast<std::uint16_t>(a)) > 0; };
                if (!has(PasswordAlgorithm::sha256) && !has(PasswordAlgorithm::md5))
                    throw Exception(Errc::unsupported, fmt::format("TURN server {} offers no password algorithm we know", server_name()));
                c.algorithm = has(PasswordAlgorithm::sha256) ? PasswordAlgorithm::sha256 : PasswordAlgorithm::md5;
            }
            c.key = long_term_key(c.username, c.realm, options_.password, c.algorithm);
            credentials_ = std::move(c);
            continue;
        }
        if (e->code == stale_nonce && signing && e->nonce) {
            ++stats_.stale_nonces;
            credentials_->nonce = *e->nonce;
            continue;
        }
        if (e->code == allocation_mismatch && method != method::allocate)
            throw Exception(Errc::closed, fmt::format("TURN server {} no longer has the allocation (437 {}): it restarted or the "
                                                      "allocation expired", server_name(), e->reason));
        // Errc::unsupported tells the caller to ask for the other family (RFC 8656 §7.2).
        if (e->code == address_family_not_supported && method == method::allocate)
            throw Exception(Errc::unsupported, fmt::format("TURN server {} relays no {} (440 {})", server_name(),
                                                           options_.family == IP6 ? "IPv6" : "IPv4", e->reason));
        throw Exception(Errc::refused, fmt::format("TURN server {} refused {}: {} {}", server_name(), method_name(method), e->code, e->reason));
    }
    throw Exception(Errc::refused, fmt::format("TURN server {} keeps challenging {} (401/438 {} times)", server_name(), method_name(method),
                                               max_challenges));
}

void Client::on_frame(ByteView frame) {
    if (is_channel_data(frame)) {
        auto c = decode_channel_data(frame);
        auto it = c ? channels_.find(c->channel) : channels_.end();
        if (it == channels_.end()) {
            ++stats_.ignored;
            return;
        }
        deliver(it->second, c->data);
        return;
    }
    auto m = stun::decode(frame);
    if (!m) {
        ++stats_.ignored;
        log::debug("turn: ignoring a frame from {}: {}", server_name(), m.error().message);
        return;
    }
    if (m->cls == stun::MessageClass::success || m->cls == stun::MessageClass::error) {
        auto it = pending_.find(m->transaction_id);
        // A full queue means a duplicate (a retransmission answered twice): dropped.
        if (it == pending_.end() || !it->second->queue.try_send(asio::error_code{}, Bytes(frame.begin(), frame.end()))) ++stats_.ignored;
        return;
    }
    if (m->method == method::connection_attempt) {
        auto attempt = read_connection_attempt(*m);
        if (!attempt || !on_connection_attempt_) {
            ++stats_.ignored;
            return;
        }
        auto handler = on_connection_attempt_;  // the handler may replace itself
        handler(*attempt);
        return;
    }
    auto d = read_data_indication(*m);  // requests from the server are not TURN
    if (!d) {
        ++stats_.ignored;
        return;
    }
    deliver(d->peer, d->data);
}

void Client::deliver(const Endpoint& peer, ByteView data) {
    auto it = handlers_.find({peer.ip, peer.port});
    if (it == handlers_.end()) {
        ++stats_.unknown_peer;
        return;
    }
    ++stats_.data_in;
    auto handler = it->second;  // the handler may replace itself
    handler(data);
}

void Client::on_data(Endpoint peer, DataHandler handler) {
    if (handler) handlers_[{peer.ip, peer.port}] = std::move(handler);
    else handlers_.erase({peer.ip, peer.port});
}

asio::awaitable<void> Client::receive_loop() {
    auto why = co_await transport_->receive([this](ByteView frame) { on_frame(frame); });
    if (why.code != Errc::cancelled) end(std::move(why));
}

asio::awaitable<void> Client::create_permission(std::vector<Endpoint> peers) {
    CreatePermissionRequest r;
    r.peers = peers;
    // A named encoder: a closure owning memory as a temporary in the co_await is freed twice (GCC 12).
    Encoder encoder = [r](const stun::TransactionId& id, const Credentials* c) { return encode(id, r, c); };
    auto response = co_await request(method::create_permission, std::move(encoder));
    auto ok = read_empty_success(response.message, method::create_permission);
    if (!ok) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server_name(), ok.error().message));
    for (const auto& peer : peers) {
        auto same_ip = [&](const Endpoint& e) { return e.ip == peer.ip; };
        if (std::none_of(permissions_.begin(), permissions_.end(), same_ip)) permissions_.push_back(peer);
    }
}

asio::awaitable<std::uint16_t> Client::bind_channel(Endpoint peer) {
    for (const auto& [channel, bound] : channels_)
        if (bound == peer) co_return channel;
    if (next_channel_ > last_channel) throw Exception(Errc::refused, "every TURN channel number is in use");
    ChannelBindRequest r{next_channel_++, peer};
    auto response = co_await request(method::channel_bind, [r](const stun::TransactionId& id, const Credentials* c) {
        return encode(id, r, c);
    });
    auto ok = read_empty_success(response.message, method::channel_bind);
    if (!ok) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server_name(), ok.error().message));
    channels_[r.channel] = peer;
    co_return r.channel;
}

asio::awaitable<std::uint32_t> Client::connect(Endpoint peer) {
    ConnectRequest r{peer};
    Encoder encoder = [r](const stun::TransactionId& id, const Credentials* c) { return encode(id, r, c); };
    auto response = co_await request(method::connect, std::move(encoder));
    auto id = read_connect_success(response.message);
    if (!id) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server_name(), id.error().message));
    co_return *id;
}

asio::awaitable<void> Client::send(Endpoint peer, ByteView data) {
    if (!open_) throw Exception(Errc::closed, ended_ ? ended_->message : "the TURN client is closed");
    auto bound = std::find_if(channels_.begin(), channels_.end(), [&](const auto& c) { return c.second == peer; });
    auto frame = bound != channels_.end() ? encode_channel_data(bound->first, data, transport_->reliable())
                                          : encode_send(stun::random_transaction_id(), peer, data);
    co_await transport_->send(frame);
}

asio::awaitable<std::chrono::seconds> Client::refresh() {
    RefreshRequest r{options_.lifetime};
    auto response = co_await request(method::refresh, [r](const stun::TransactionId& id, const Credentials* c) { return encode(id, r, c); });
    auto lifetime = read_refresh_success(response.message);
    if (!lifetime) throw Exception(Errc::malformed, fmt::format("TURN server {}: {}", server_name(), lifetime.error().message));
    allocation_.lifetime = *lifetime;
    schedule_refresh();
    ++stats_.refreshes;
    co_return *lifetime;
}

void Client::schedule_refresh() {
    auto lifetime = allocation_.lifetime;
    auto margin = options_.refresh_margin;
    refresh_due_ = Clock::now() + (lifetime > margin ? lifetime - margin : lifetime / 2);
}

asio::awaitable<void> Client::maintain() {
    auto permissions_due = Clock::now() + options_.permission_refresh;
    auto channels_due = Clock::now() + options_.channel_refresh;
    asio::steady_timer timer(executor_);
    while (open_) {
        // Woken for every due time, needed or not: a permission or channel made meanwhile is
        // then refreshed in time without waking the timer from outside.
        auto next = std::min({refresh_due_, permissions_due, channels_due});
        timer.expires_at(next);
        asio::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !open_) co_return;
        std::optional<Error> failure;
        try {
            auto now = Clock::now();
            if (now >= refresh_due_) co_await refresh();
            if (now >= permissions_due) {
                permissions_due = now + options_.permission_refresh;
                if (!permissions_.empty()) {
                    auto peers = permissions_;
                    co_await create_permission(peers);
                    ++stats_.permission_refreshes;
                }
            }
            if (now >= channels_due) {
                channels_due = now + options_.channel_refresh;
                auto channels = channels_;
                for (const auto& [channel, peer] : channels) {
                    ChannelBindRequest r{channel, peer};
                    auto response = co_await request(method::channel_bind, [r](const stun::TransactionId& id, const Credentials* c) {
                        return encode(id, r, c);
                    });
                    (void)response;
                }
                if (!channels.empty()) ++stats_.channel_refreshes;
            }
        } catch (const Exception& e) {
            failure = e.error();
        }
        if (failure && failure->code == Errc::cancelled) co_return;
        if (failure) {
            failure->message = fmt::format("TURN allocation on {} ended: {}", server_name(), failure->message);
            end(std::move(*failure));
            co_return;
        }
    }
}

void Client::end(Error why) {
    if (ended_ || !open_) return;
    log::debug("turn: {}: {}", describe(), why.message);
    ended_ = why;
    open_ = false;
    for (auto& [id, pending] : pending_) pending->queue.close();
    transport_->close();
    tasks_.cancel_all();
    if (auto handler = on_end_) handler(why);
}

asio::awaitable<void> Client::close() {
    if (open_) {
        open_ = false;
        // Deallocate (RFC 8656 §7.2): a Refresh with lifetime 0, answered or not.
        try {
            RefreshRequest r{std::chrono::seconds(0)};
            auto deallocate = request(method::refresh, [r](const stun::TransactionId& id, const Credentials* c) { return encode(id, r, c); });
            co_await net::with_timeout(std::move(deallocate), options_.close_timeout, "TURN Deallocate");
        } catch (const std::exception& e) {
            log::debug("turn: {}: Deallocate: {}", describe(), e.what());
        }
    }
    // Everything still waiting ends now: the transactions of other callers (a ChannelBind, a
    // Refresh) see "closed" instead of waiting out their retransmissions, and the tasks are
    // cancelled. The wait for them is bounded too: close() runs detached (close_in_background)
    // and anything it waits for keeps the caller's io_context, and so the process, alive.
    for (auto& [id, pending] : pending_) pending->queue.close();
    transport_->close();
    tasks_.cancel_all();
    try {
        co_await net::with_timeout(tasks_.wait(), options_.close_timeout, "the TURN client's tasks");
    } catch (const std::exception& e) {
        log::warn("turn: the client of {}: {} task(s) did not end on close: {}", server_name(), tasks_.size(), e.what());
    }
}

}  // namespace warpgate::turn
