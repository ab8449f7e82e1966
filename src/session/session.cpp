#include "session/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "net/timeout.hpp"
#include "session/demux.hpp"

namespace warpgate::session {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t counter_of(std::span<const std::uint8_t> record) {
    std::uint64_t counter = 0;
    for (std::size_t i = 0; i < crypto::SecureChannel::header_size; ++i) counter = counter << 8 | record[sealed_prefix + i];
    return counter;
}

std::string text_of(ByteView body) {
    std::string out;
    for (auto c : body) out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    return out;
}

}  // namespace

Session::Session(asio::any_io_executor ex, PipeOptions options, SessionSettings settings, Role role, PathPtr path,
                 std::shared_ptr<Demux> demux)
    : Pipe(ex, options), settings_(settings), role_(role), path_(std::move(path)), demux_(demux), heard_wake_(ex),
      last_received_(Clock::now()), last_sent_(Clock::now()), liveness_timer_(ex) {
    local_id_ = demux ? demux->reserve() : random_session_id();
}

std::shared_ptr<Session> Session::create(asio::any_io_executor ex, PipeOptions options, SessionSettings settings, Role role,
                                         PathPtr path, std::shared_ptr<Demux> demux) {
    auto session = std::make_shared<Session>(ex, options, settings, role, std::move(path), demux);
    if (demux) demux->bind(session->local_id_, session);
    return session;
}

Session::~Session() {
    if (auto demux = demux_.lock()) demux->remove(local_id_);
}

void Session::set_keys(const crypto::Keys& keys) {
    channel_.emplace(keys, transport() == TCP ? crypto::ChannelMode::stream : crypto::ChannelMode::datagram);
}

RecordBuffer Session::make_record(Kind kind, ByteView body) {
    if (!channel_) return encode_plain(remote_id_, kind, body);
    return encode_sealed(*channel_, remote_id_, kind, body);
}

asio::awaitable<void> Session::send_raw(ByteView record, ByteView body) {
    auto path = path_;  // the session may move to another path meanwhile
    last_sent_ = Clock::now();
    co_await path->send_parts(record, body);
}

asio::awaitable<void> Session::send_control(Kind kind, ByteView body) {
    auto record = make_record(kind, body);
    co_await send_raw(record);
}

asio::awaitable<void> Session::send_message(ByteView message) {
    if (state_ != State::established) throw Exception(Errc::closed, "the link is not established");
    if (!channel_) {
        // A plain record's header and the message leave together, gathered: no copy.
        auto header = plain_header(remote_id_, Kind::data);
        co_await send_raw(header, message);
        co_return;
    }
    auto record = make_record(Kind::data, message);
    co_await send_raw(record);
}

asio::awaitable<void> Session::send_ping(ByteView nonce) {
    if (state_ != State::established) throw Exception(Errc::closed, "the link is not established");
    co_await send_control(Kind::ping, nonce);
}

void Session::end_session() {
    if (closed_locally() && state_ == State::established) {
        // Authenticated like everything else: a stranger cannot end the link this way.
        auto record = make_record(Kind::close, as_bytes(close_note_.empty() ? std::string_view("closed") : std::string_view(close_note_)));
        path_->send_now(record);
    }
    state_ = State::closed;
    on_established_ = nullptr;
    wake_heard();
    liveness_timer_.cancel();
    path_->close();
    if (auto demux = demux_.lock()) demux->remove(local_id_);
}

void Session::on_path_end(Error reason) {
    if (state_ == State::closed) return;
    finish(std::move(reason));
}

asio::awaitable<bool> Session::on_stream_record(std::span<std::uint8_t> record) {
    bool keep_reading = co_await handle(record, nullptr);
    co_return keep_reading;
}

asio::awaitable<bool> Session::on_datagram(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from) {
    if (transport() != UDP) {
        count_dropped();  // a stream session does not take datagrams
        co_return true;
    }
    auto* current = static_cast<UdpPath*>(path_.get());
    PathPtr moved;
    if (current->socket() != socket || current->remote() != from) moved = std::make_shared<UdpPath>(socket, from);
    bool keep = co_await handle(record, std::move(moved));
    co_return keep;
}

bool Session::reject(const std::string& why) {
    if (transport() == UDP) {
        count_dropped();
        spdlog::debug("link {}: dropped a datagram: {}", path_->describe(), why);
        return true;
    }
    spdlog::info("closing link {}: {}", path_->describe(), why);
    finish({Errc::auth_failed, why});
    return false;
}

asio::awaitable<bool> Session::handle(std::span<std::uint8_t> record, PathPtr moved) {
    if (state_ == State::closed || record.empty()) co_return false;
    auto type = static_cast<RecordType>(record[0]);
    if (type == RecordType::reply) {
        if (role_ != Role::initiator) co_return reject("a reply record sent to the accepting side");
        if (heard_.reply || moved) co_return true;  // a retransmitted answer, or one from elsewhere
        auto reply = decode_reply(record);
        if (!reply) co_return reject(reply.error().message);
        heard_.reply = std::move(*reply);
        wake_heard();
        co_return true;
    }
    if (type == RecordType::refuse) {
        if (role_ != Role::initiator || state_ != State::introducing || moved) co_return true;
        auto refuse = decode_refuse(record);
        if (!refuse) co_return reject(refuse.error().message);
        heard_.refused = refuse->reason;
        wake_heard();
        co_return true;
    }
    if (type == RecordType::hello) {
        // Only a TCP responder sees a hello here (UDP hellos go to the acceptor): the same
        // hello again gets the same answer; anything else is a protocol error.
        if (role_ == Role::responder && std::equal(record.begin(), record.end(), hello_.begin(), hello_.end())) {
            co_await send_raw(reply_);
            co_return true;
        }
        co_return reject("a second, different hello");
    }
    if (type == RecordType::sealed) {
        if (!channel_) co_return reject("a sealed record before the link handshake");
        auto counter = record.size() >= sealed_prefix + crypto::SecureChannel::header_size ? counter_of(record) : 0;
        auto opened = channel_->open_in_place(record.subspan(sealed_prefix));
        if (!opened) co_return reject("record failed authentication: " + opened.error().message);
        auto inner = decode_inner(*opened);
        if (!inner) co_return reject(inner.error().message);
        // Only the newest record may move the session: a replayed or delayed copy from
        // elsewhere (which would not open anyway) or an old one cannot drag it away.
        bool newest = !any_counter_ || counter > highest_counter_;
        if (newest) highest_counter_ = counter;
        any_counter_ = true;
        last_received_ = Clock::now();
        if (moved && newest) adopt(std::move(moved));
        bool keep = co_await on_inner(inner->kind, inner->body);
        co_return keep;
    }
    if (type == RecordType::plain) {
        if (channel_) co_return reject("a plaintext record on an encrypted link");
        if (remote_id_ == 0) co_return reject("a plaintext record before the introduction");
        if (moved) {
            count_dropped();  // nothing authenticates a plaintext record from a new address
            co_return true;
        }
        auto inner = decode_inner(record.subspan(sealed_prefix));
        if (!inner) co_return reject(inner.error().message);
        last_received_ = Clock::now();
        bool keep = co_await on_inner(inner->kind, inner->body);
        co_return keep;
    }
    co_return reject("a record of unknown type");
}

asio::awaitable<bool> Session::on_inner(Kind kind, ByteView body) {
    if (state_ == State::introducing) {
        if (role_ == Role::responder) {
            // The first record that opens proves the initiator holds the new keys: the key
            // confirmation, or a data record whose confirmation was lost.
            establish();
            try {
                co_await send_control(Kind::confirm_ack);
            } catch (const Exception& e) {
                // On UDP a send that fails (a local firewall's drop: EPERM, ENOBUFS) is one
                // more lost datagram: the initiator repeats its confirmation and is answered.
                if (transport() == TCP) {
                    finish(e.error());
                    co_return false;
                }
            }
            auto self = std::static_pointer_cast<Session>(shared_from_this());
            if (auto on_established = std::exchange(on_established_, nullptr)) on_established(self, con_id_);
            if (kind == Kind::confirm) co_return is_open();
        } else {
            heard_.acknowledged = true;  // only an established responder seals records
            wake_heard();
        }
    }
    // (if-chains, not a switch: GCC 12 miscompiles co_await inside switch cases)
    if (kind == Kind::data) {
        bool open = co_await deliver(Message(body.begin(), body.end()));
        co_return open;
    }
    if (kind == Kind::ping) {
        try {
            co_await send_control(Kind::pong, body);
        } catch (const Exception& e) {
            if (transport() == TCP) {
                finish(e.error());
                co_return false;
            }
        }
        co_return true;
    }
    if (kind == Kind::pong) {
        answer_pong(body);
        co_return true;
    }
    if (kind == Kind::close) {
        auto note = text_of(body);
        finish({Errc::closed, "peer closed the link" + (note.empty() || note == "closed" ? std::string() : ": " + note)});
        co_return false;
    }
    if (kind == Kind::confirm && role_ == Role::responder) {
        // A repeated confirmation: our acknowledgement was lost.
        try {
            co_await send_control(Kind::confirm_ack);
        } catch (const Exception&) {
        }
    }
    co_return true;  // confirm_ack and keepalive: liveness only
}

void Session::wake_heard() {
    ++heard_events_;
    heard_wake_.cancel();
}

asio::awaitable<void> Session::wait_heard(Clock::time_point deadline) {
    // What was heard (or the end of the session) while the introduction was busy sending
    // must not be slept through: a waiter comes back at once.
    if (state_ == State::closed || heard_events_ != waited_events_) {
        waited_events_ = heard_events_;
        co_return;
    }
    heard_wake_.expires_at(deadline);
    asio::error_code ec;
    co_await heard_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waited_events_ = heard_events_;
}

void Session::await_confirmation(Bytes hello, Bytes reply, ConnectionId con_id,
                                 std::function<void(const std::shared_ptr<Session>&, const ConnectionId&)> on_established) {
    hello_ = std::move(hello);
    reply_ = std::move(reply);
    con_id_ = con_id;
    on_established_ = std::move(on_established);
}

void Session::establish() {
    if (state_ != State::introducing) return;
    state_ = State::established;
    if (auto* tcp = dynamic_cast<TcpPath*>(path_.get())) tcp->set_max_record(options_.max_message_size + 64);
    auto weak = std::weak_ptr<Session>(std::static_pointer_cast<Session>(shared_from_this()));
    asio::co_spawn(get_executor(), liveness(weak), asio::detached);
}

void Session::adopt(PathPtr path) {
    spdlog::info("link to {} moved: {} is now {}", peer_node_id().empty() ? "peer" : peer_node_id(), path_->describe(), path->describe());
    path_ = std::move(path);
}

// Keeps NAT mappings open and notices a dead peer. Holds the session only while it looks.
asio::awaitable<void> Session::liveness(std::weak_ptr<Session> weak) {
    std::chrono::milliseconds tick;
    {
        auto self = weak.lock();
        if (!self) co_return;
        tick = std::max(std::min(self->settings_.keepalive_interval, self->settings_.dead_after) / 4, std::chrono::milliseconds(10));
    }
    for (;;) {
        asio::steady_timer* timer = nullptr;
        {
            auto self = weak.lock();
            if (!self || self->state_ == State::closed) co_return;
            timer = &self->liveness_timer_;
            timer->expires_after(tick);
        }
        asio::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto self = weak.lock();
        if (!self || self->state_ == State::closed) co_return;
        auto now = Clock::now();
        if (now - self->last_received_ >= self->settings_.dead_after) {
            self->finish({Errc::timeout, "no authenticated record from the peer for " + net::describe(self->settings_.dead_after) +
                                             ": the link is dead"});
            co_return;
        }
        if (now - self->last_sent_ >= self->settings_.keepalive_interval) {
            try {
                co_await self->send_control(Kind::keepalive);
            } catch (const Exception& e) {
                if (self->transport() == TCP) self->finish(e.error());
            }
        }
    }
}

std::pair<RecordSink, EndSink> stream_callbacks(const std::shared_ptr<Session>& session) {
    std::weak_ptr<Session> weak = session;
    RecordSink sink = [weak](std::span<std::uint8_t> record) -> asio::awaitable<bool> {
        auto s = weak.lock();
        if (!s) co_return false;
        bool keep = co_await s->on_stream_record(record);
        co_return keep;
    };
    EndSink on_end = [weak](Error reason) {
        if (auto s = weak.lock()) s->on_path_end(std::move(reason));
    };
    return {std::move(sink), std::move(on_end)};
}

}  // namespace warpgate::session
