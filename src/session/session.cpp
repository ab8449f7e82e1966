#include "session/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include "log.hpp"

#include "crypto/random.hpp"
#include "net/timeout.hpp"
#include "session/demux.hpp"

namespace warpgate::session {
namespace {

using Clock = std::chrono::steady_clock;

// Stream sessions acknowledge after this many records or bytes received (and on the liveness
// tick), and end the link when the peer leaves this much unacknowledged.
constexpr std::size_t ack_every_records = 32;
constexpr std::size_t ack_every_bytes = 256 * 1024;
constexpr std::size_t max_unacked_bytes = 32 * 1024 * 1024;

Bytes counter_body(std::uint64_t counter) {
    Bytes body(8);
    for (int i = 7; i >= 0; --i, counter >>= 8) body[i] = static_cast<std::uint8_t>(counter);
    return body;
}

std::uint64_t counter_in(ByteView body) {
    std::uint64_t counter = 0;
    for (auto b : body) counter = counter << 8 | b;
    return counter;
}

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
    : Pipe(ex, options), settings_(settings), role_(role), path_(std::move(path)), demux_(demux), last_received_current_(Clock::now()),
      gate_(ex), heard_wake_(ex), last_received_(Clock::now()), last_sent_(Clock::now()), liveness_timer_(ex) {
    local_id_ = demux ? demux->reserve() : random_session_id();
}

std::shared_ptr<Session> Session::create(asio::any_io_executor ex, PipeOptions options, SessionSettings settings, Role role,
                                         PathPtr path, std::shared_ptr<Demux> demux) {
    auto session = std::make_shared<Session>(ex, options, settings, role, std::move(path), demux);
    if (demux) demux->bind(session->local_id_, session);
    return session;
}

Session::~Session() {
    // A link whose last handle went without close() ends as if closed: the peer gets the
    // close record now instead of noticing the silence, and the path stops reading (a UDP
    // path's reader holds its socket, a TURN path's holds its allocation: left open, they kept
    // the process alive).
    close();
    if (auto demux = demux_.lock()) demux->remove(local_id_);
}

void Session::set_keys(const crypto::Keys& keys) {
    channel_.emplace(keys, transport() == TCP ? crypto::ChannelMode::stream : crypto::ChannelMode::datagram);
}

RecordBuffer Session::make_record(Kind kind, ByteView body, bool out_of_band) {
    if (!channel_) return encode_plain(remote_id_, kind, body);
    return encode_sealed(*channel_, remote_id_, kind, body, out_of_band);
}

asio::awaitable<void> Session::send_raw(ByteView record, ByteView body) {
    auto path = path_;  // the session may move to another path meanwhile
    last_sent_ = Clock::now();
    co_await path->send_parts(record, body);
}

asio::awaitable<void> Session::send_record(RecordBuffer record) {
    auto path = path_;
    last_sent_ = Clock::now();
    if (!channel_ || channel_->mode() != crypto::ChannelMode::stream) {
        co_await path->send(record);
        co_return;
    }
    // Kept (before any wait, so in counter order) until the peer acknowledges it.
    auto kept = std::make_shared<const RecordBuffer>(std::move(record));
    keep_unacked(kept);
    try {
        co_await path->send(*kept);
    } catch (const Exception&) {
        // Unless the stream this record was written to is being left: the new one carries it.
        if (path == path_ && !switching_) throw;
    }
}

asio::awaitable<void> Session::pass_gate() {
    while (switching_) {
        asio::error_code ec;
        co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (state_ == State::closed) throw Exception(Errc::closed, "the link is closed");
}

asio::awaitable<void> Session::send_control(Kind kind, ByteView body) {
    co_await pass_gate();
    auto record = make_record(kind, body);
    co_await send_record(std::move(record));
}

asio::awaitable<void> Session::send_message(ByteView message) {
    if (state_ != State::established) throw Exception(Errc::closed, "the link is not established");
    co_await pass_gate();
    if (!channel_) {
        // A plain record's header and the message leave together, gathered: no copy.
        auto header = plain_header(remote_id_, Kind::data);
        co_await send_raw(header, message);
        co_return;
    }
    auto record = make_record(Kind::data, message);
    co_await send_record(std::move(record));
}

void Session::keep_unacked(const std::shared_ptr<const RecordBuffer>& record) {
    unacked_bytes_ += record->size();
    unacked_.push_back({counter_of(*record), record});
    if (unacked_bytes_ > max_unacked_bytes)
        throw Exception(Errc::io, "the peer acknowledged none of the last " + std::to_string(max_unacked_bytes >> 20) +
                                      " MiB this link sent");
}

void Session::forget_acked(std::uint64_t next) {
    while (!unacked_.empty() && unacked_.front().counter < next) {
        unacked_bytes_ -= unacked_.front().record->size();
        unacked_.pop_front();
    }
}

asio::awaitable<void> Session::acknowledge() {
    received_since_ack_ = 0;
    received_bytes_since_ack_ = 0;
    auto body = counter_body(channel_->next_receive());
    co_await send_control(Kind::ack, body);
}

asio::awaitable<void> Session::send_ping(ByteView nonce) {
    if (state_ != State::established) throw Exception(Errc::closed, "the link is not established");
    co_await send_control(Kind::ping, nonce);
}

void Session::end_session() {
    switching_ = false;
    gate_.cancel();
    if (closed_locally() && state_ == State::established) {
        // Authenticated like everything else: a stranger cannot end the link this way.
        auto record = make_record(Kind::close, as_bytes(close_note_.empty() ? std::string_view("closed") : std::string_view(close_note_)));
        path_->send_now(record);
    }
    state_ = State::closed;
    on_established_ = nullptr;
    wake_heard();
    liveness_timer_.cancel();
    for (auto& probe : probes_) probe.wake->cancel();
    path_->close();
    if (standby_) standby_->close();
    unacked_.clear();
    if (auto demux = demux_.lock()) demux->remove(local_id_);
}

void Session::on_path_end(const Path* path, Error reason) {
    if (state_ == State::closed) return;
    if (path && path != path_.get()) return;  // a stream the session has left
    finish(std::move(reason));
}

asio::awaitable<bool> Session::on_stream_record(StreamRecord& record, const Path* via) {
    Arrival arrival;
    arrival.current = via == path_.get();
    arrival.stream = via;
    bool keep_reading = co_await handle(record, arrival);
    co_return keep_reading;
}

asio::awaitable<bool> Session::on_datagram(std::span<std::uint8_t> record, const UdpSocketPtr& socket, const Endpoint& from) {
    if (transport() != UDP) {
        count_dropped();  // a stream session does not take datagrams
        co_return true;
    }
    Arrival arrival;
    auto* current = dynamic_cast<UdpPath*>(path_.get());
    if (!current || current->socket() != socket || current->remote() != from) {
        arrival.current = false;
        arrival.socket = socket;
        arrival.from = from;
    }
    StreamRecord whole;
    whole.head = record;
    bool keep = co_await handle(whole, arrival);
    co_return keep;
}

asio::awaitable<bool> Session::on_path_datagram(std::span<std::uint8_t> record, const PathPtr& via) {
    Arrival arrival;
    arrival.current = via == path_;
    if (!arrival.current) arrival.path = via;
    StreamRecord whole;
    whole.head = record;
    bool keep = co_await handle(whole, arrival);
    co_return keep;
}

PathPtr Session::path_of(const Arrival& arrival) {
    if (arrival.path) return arrival.path;
    auto same = [&](const PathPtr& known) {
        auto* udp = dynamic_cast<UdpPath*>(known.get());
        return udp && udp->socket() == arrival.socket && udp->remote() == arrival.from;
    };
    if (same(standby_)) return standby_;
    for (auto& probe : probes_)
        if (same(probe.path)) return probe.path;
    return std::make_shared<UdpPath>(arrival.socket, arrival.from);
}

void Session::consider_move(const Arrival& arrival) {
    // A relay's late or repeated records must not pull a link off a direct path that works.
    bool relayed = arrival.path && arrival.path->relayed();
    if (relayed && !path_->relayed() && Clock::now() - last_received_current_ < settings_.path_quiet_after) return;
    adopt(path_of(arrival));
}

bool Session::reject(const std::string& why) {
    if (transport() == UDP) {
        count_dropped();
        log::debug("link {}: dropped a datagram: {}", path_->describe(), why);
        return true;
    }
    log::info("closing link {}: {}", path_->describe(), why);
    finish({Errc::auth_failed, why});
    return false;
}

asio::awaitable<bool> Session::handle(StreamRecord& pieces, const Arrival& arrival) {
    // The record, or the head of a split one: everything before its body.
    auto record = pieces.head;
    if (state_ == State::closed || record.empty()) co_return false;
    auto type = static_cast<RecordType>(record[0]);
    if (type == RecordType::reply) {
        if (role_ != Role::initiator) co_return reject("a reply record sent to the accepting side");
        if (heard_.reply || !arrival.current) co_return true;  // a retransmitted answer, or one from elsewhere
        auto reply = decode_reply(record);
        if (!reply) co_return reject(reply.error().message);
        heard_.reply = std::move(*reply);
        wake_heard();
        co_return true;
    }
    if (type == RecordType::refuse) {
        if (role_ != Role::initiator || state_ != State::introducing || !arrival.current) co_return true;
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
        bool stream = channel_->mode() == crypto::ChannelMode::stream;
        if (stream && crypto::SecureChannel::out_of_band(counter)) co_return reject("an out-of-band record on an open stream");
        // A stream just joined starts with what the peer resent: what arrived already is skipped.
        if (stream && resuming_ && arrival.stream == resuming_ && counter < channel_->next_receive()) co_return true;
        // Opened straight into the message it carries: the kind byte apart, the body in a buffer
        // of its own that becomes the application's message, with no copy afterwards. A split
        // record's body was read into that buffer and is decrypted where it lies.
        auto sealed = record.subspan(sealed_prefix);
        std::uint8_t kind_byte = 0;
        Message body;
        Result<std::size_t> opened;
        if (pieces.split) {
            body = std::move(pieces.body);
            opened = channel_->open_in_place(sealed.first(crypto::SecureChannel::header_size), {sealed.last(1), std::span(body)}, pieces.tail);
            kind_byte = sealed.back();
        } else if (sealed.size() > crypto::SecureChannel::overhead) {
            body.resize(sealed.size() - crypto::SecureChannel::overhead - 1);
            opened = channel_->open_into(sealed, {std::span(&kind_byte, 1), std::span(body)});
        } else {
            opened = channel_->open_in_place(sealed).transform([](auto plaintext) { return plaintext.size(); });
        }
        if (!opened) co_return reject("record failed authentication: " + opened.error().message);
        if (*opened == 0) co_return reject("session record without a kind byte");
        auto inner = decode_inner(kind_byte, body);
        if (!inner) co_return reject(inner.error().message);
        if (stream && arrival.stream == resuming_) resuming_ = nullptr;
        // Only the newest record may move the session: a replayed or delayed copy from
        // elsewhere (which would not open anyway) or an old one cannot drag it away.
        bool newest = !any_counter_ || counter > highest_counter_;
        if (newest) highest_counter_ = counter;
        any_counter_ = true;
        last_received_ = Clock::now();
        if (arrival.current) last_received_current_ = last_received_;
        if (!arrival.current && newest && !stream) consider_move(arrival);
        auto kind = inner->kind;
        bool keep = co_await on_inner(kind, std::move(body));
        if (keep && stream && kind != Kind::ack && state_ == State::established) {
            if (received_since_ack_++ == 0) {
                ack_owed_since_ = Clock::now();
                liveness_due_sooner();
            }
            received_bytes_since_ack_ += pieces.size();
            if (received_since_ack_ >= ack_every_records || received_bytes_since_ack_ >= ack_every_bytes) {
                try {
                    co_await acknowledge();
                } catch (const Exception& e) {
                    finish(e.error());
                    co_return false;
                }
            }
        }
        co_return keep;
    }
    if (type == RecordType::plain) {
        if (channel_) co_return reject("a plaintext record on an encrypted link");
        if (remote_id_ == 0) co_return reject("a plaintext record before the introduction");
        if (!arrival.current) {
            count_dropped();  // nothing authenticates a plaintext record from a new address
            co_return true;
        }
        // A split record's body is the message already; a whole one's is copied out.
        Message body;
        Result<Inner> inner;
        if (pieces.split) {
            body = std::move(pieces.body);
            inner = decode_inner(record[sealed_prefix], body);
        } else {
            inner = decode_inner(record.subspan(sealed_prefix));
            if (inner) body.assign(inner->body.begin(), inner->body.end());
        }
        if (!inner) co_return reject(inner.error().message);
        last_received_ = Clock::now();
        bool keep = co_await on_inner(inner->kind, std::move(body));
        co_return keep;
    }
    co_return reject("a record of unknown type");
}

asio::awaitable<bool> Session::on_inner(Kind kind, Message body) {
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
            // Its data may follow at once, in full-sized records: the reader takes the next
            // record before initiate() resumes to establish(), so lift the limit here.
            if (auto* tcp = dynamic_cast<TcpPath*>(path_.get())) tcp->set_max_record(options_.max_message_size + 64);
            wake_heard();
        }
    }
    // (if-chains, not a switch: GCC 12 miscompiles co_await inside switch cases)
    if (kind == Kind::data) {
        bool open = co_await deliver(std::move(body));
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
    if (kind == Kind::ack) {
        forget_acked(counter_in(body));
        co_return true;
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
    log::info("link to {} moved: {} is now {}", peer_node_id().empty() ? "peer" : peer_node_id(), path_->describe(), path->describe());
    auto left = std::exchange(path_, std::move(path));
    if (path_ == standby_) standby_ = nullptr;
    // A relay stays at hand while a direct path serves (and a direct path while the relay does).
    if (left->relayed() || path_->relayed()) {
        standby_ = std::move(left);
        liveness_due_sooner();
    } else if (auto* old = dynamic_cast<UdpPath*>(left.get()); old && old->owns_socket()) {
        // A dialled socket goes with the link if the new path uses it, else it is closed.
        auto* now = dynamic_cast<UdpPath*>(path_.get());
        if (now && now->socket() == old->socket())
            now->own_socket();
        else
            old->close();
    }
    last_received_current_ = Clock::now();
    for (auto& probe : probes_) probe.wake->cancel();  // each migrate() sees the move
}

asio::awaitable<void> Session::migrate(PathPtr path) {
    if (state_ != State::established) throw Exception(Errc::closed, "the link is not established");
    if (path->transport() != transport())
        throw Exception(Errc::unsupported, std::string("a ") + to_string(transport()) + " link cannot move to a " +
                                               to_string(path->transport()) + " path");
    if (transport() == UDP) {
        // A socket of its own is read by the demultiplexer like every UDP socket of the node.
        auto demux = demux_.lock();
        if (auto* udp = dynamic_cast<UdpPath*>(path.get()); udp && udp->owns_socket() && demux)
            asio::co_spawn(get_executor(), demux->serve(udp->socket(), false), asio::detached);
        if (!channel_) {
            adopt(std::move(path));
            co_await send_control(Kind::keepalive);  // nothing authenticates an answer: move at once
            co_return;
        }
        co_await probe_and_move(std::move(path));
        co_return;
    }
    auto stream = std::dynamic_pointer_cast<TcpPath>(path);
    if (!channel_ || !stream)
        throw Exception(Errc::unsupported, "a plaintext stream link cannot move: nothing would authenticate the new stream");
    auto self = std::static_pointer_cast<Session>(shared_from_this());
    auto callbacks = stream_callbacks(self, stream.get());
    stream->start(std::move(callbacks.first), std::move(callbacks.second), options_.max_message_size + 64);
    auto expected = counter_body(channel_->next_receive());
    auto join = make_record(Kind::join, expected, true);
    co_await switch_stream(std::move(stream), std::move(join), 0);
}

asio::awaitable<void> Session::probe_and_move(PathPtr path) {
    asio::steady_timer wake(get_executor());
    probes_.push_back({path, &wake});
    auto left = path_;
    auto deadline = Clock::now() + settings_.probe_timeout;
    auto resend = std::chrono::milliseconds(50);
    std::optional<Error> failed;
    // Until the peer answers on `path`, the link moves elsewhere (another probe won, the peer
    // rebound), it ends, or time runs out. Resent at 50, 100, 200 ms...: a lost probe or answer.
    while (path_ == left && state_ == State::established && Clock::now() < deadline) {
        std::array<std::uint8_t, 8> nonce;  // answers no Pipe::ping: nobody waits for this pong
        crypto::random_bytes(nonce);
        auto probe = make_record(Kind::ping, nonce);
        try {
            co_await path->send(probe);
        } catch (const Exception& e) {
            failed = e.error();  // e.g. ICMP port unreachable on a dialled socket
            break;
        }
        wake.expires_at(std::min(deadline, Clock::now() + resend));
        asio::error_code ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        bool stop = co_await net::cancelled();  // the race was decided elsewhere
        if (stop) {
            failed = Error{Errc::cancelled, "cancelled"};
            break;
        }
        resend *= 2;
    }
    std::erase_if(probes_, [&](const Probe& p) { return p.wake == &wake; });
    if (path_ == path) co_return;
    path->close();
    auto where = path->describe();
    if (state_ != State::established) throw Exception(Errc::closed, "the link ended while moving to " + where);
    if (failed) throw Exception(failed->code, "moving the link to " + where + " failed: " + failed->message);
    if (path_ != left) throw Exception(Errc::cancelled, "the link moved to " + path_->describe() + ", not to " + where);
    throw Exception(Errc::timeout, "the peer did not answer on " + where + " within " + net::describe(settings_.probe_timeout));
}

asio::awaitable<bool> Session::on_join(std::span<std::uint8_t> record, const std::shared_ptr<TcpPath>& path) {
    if (state_ != State::established || transport() != TCP || !channel_ || record.size() < sealed_prefix + crypto::SecureChannel::overhead)
        co_return false;
    if (!crypto::SecureChannel::out_of_band(counter_of(record))) co_return false;
    auto opened = channel_->open_in_place(record.subspan(sealed_prefix));
    if (!opened) {
        log::debug("link {}: a new stream from {} failed to join: {}", path_->describe(), path->remote().to_string(), opened.error().message);
        co_return false;
    }
    auto inner = decode_inner(*opened);
    if (!inner || inner->kind != Kind::join) co_return false;
    path->set_max_record(options_.max_message_size + 64);
    try {
        co_await switch_stream(path, std::nullopt, counter_in(inner->body));
    } catch (const Exception&) {
        co_return false;  // the link ended with the reason
    }
    co_return true;
}

asio::awaitable<void> Session::switch_stream(std::shared_ptr<TcpPath> path, std::optional<RecordBuffer> first, std::uint64_t peer_next) {
    co_await pass_gate();  // one switch at a time
    forget_acked(peer_next);
    gate_.expires_at(Clock::time_point::max());
    switching_ = true;
    auto left = std::exchange(path_, path);  // records sealed from now on go to the new stream...
    resuming_ = path.get();
    last_received_current_ = Clock::now();
    std::vector<std::shared_ptr<const RecordBuffer>> resend;  // ...after what the peer may lack
    for (auto& r : unacked_) resend.push_back(r.record);
    std::optional<Error> failed;
    try {
        if (first) co_await path->send(*first);
        for (auto& record : resend) co_await path->send(*record);
    } catch (const Exception& e) {
        failed = e.error();
    }
    switching_ = false;
    gate_.cancel();
    if (failed) {
        finish({failed->code, "moving the link to " + path->describe() + " failed: " + failed->message});
        throw Exception(failed->code, failed->message);
    }
    log::info("link to {} moved: {} is now {} ({} records resent)", peer_node_id(), left->describe(), path->describe(), resend.size());
    left->close();
}

// The next instant the liveness task has something to do: a keepalive (nothing sent for
// keepalive_interval), the dead-peer check, the standby's quiet check, an acknowledgement owed
// (a tick after the record that made it owed). Never sooner than a tick from now, so that a
// failing keepalive is retried a tick later, not in a loop.
std::chrono::steady_clock::time_point Session::next_liveness_due(std::chrono::milliseconds tick) const {
    auto due = std::min(last_sent_ + settings_.keepalive_interval, last_received_ + settings_.dead_after);
    if (standby_) due = std::min(due, last_received_current_ + settings_.path_quiet_after);
    if (received_since_ack_ > 0) due = std::min(due, ack_owed_since_ + tick);
    return std::max(due, Clock::now() + tick);
}

std::chrono::milliseconds Session::liveness_tick() const {
    return std::max(std::min(settings_.keepalive_interval, settings_.dead_after) / 4, std::chrono::milliseconds(10));
}

// Something became due sooner than the liveness timer is set for (an acknowledgement owed, a
// standby to watch): the task wakes, finds nothing due yet, and sets the timer again.
void Session::liveness_due_sooner() {
    if (state_ == State::closed) return;
    if (next_liveness_due(liveness_tick()) < liveness_timer_.expiry()) liveness_timer_.cancel();
}

// Keeps NAT mappings open and notices a dead peer. Holds the session only while it looks. The
// timer is set for the next instant something is due, not for a fixed tick: an idle link
// wakes about once per keepalive interval, and only the links that are due wake.
asio::awaitable<void> Session::liveness(std::weak_ptr<Session> weak) {
    for (;;) {
        asio::steady_timer* timer = nullptr;
        {
            auto self = weak.lock();
            if (!self || self->state_ == State::closed) co_return;
            timer = &self->liveness_timer_;
            timer->expires_at(self->next_liveness_due(self->liveness_tick()));
        }
        asio::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto self = weak.lock();
        if (!self || self->state_ == State::closed) co_return;
        if (ec) continue;  // liveness_due_sooner(): set the timer again
        auto now = Clock::now();
        if (self->standby_ && now - self->last_received_current_ >= self->settings_.path_quiet_after && self->standby_->is_open()) {
            log::info("link to {}: {} went quiet for {}; back to {}", self->peer_node_id(), self->path_->describe(),
                         net::describe(self->settings_.path_quiet_after), self->standby_->describe());
            self->adopt(self->standby_);
            self->last_sent_ = now - self->settings_.keepalive_interval;  // announce the move at once
        }
        if (self->received_since_ack_ > 0 && now - self->ack_owed_since_ >= self->liveness_tick()) {
            try {
                co_await self->acknowledge();
            } catch (const Exception& e) {
                self->finish(e.error());
                co_return;
            }
        }
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

std::pair<StreamSink, EndSink> stream_callbacks(const std::shared_ptr<Session>& session, const Path* path) {
    std::weak_ptr<Session> weak = session;
    StreamSink sink = [weak, path](StreamRecord& record) -> asio::awaitable<bool> {
        auto s = weak.lock();
        if (!s) co_return false;
        bool keep = co_await s->on_stream_record(record, path);
        co_return keep;
    };
    EndSink on_end = [weak, path](Error reason) {
        if (auto s = weak.lock()) s->on_path_end(path, std::move(reason));
    };
    return {std::move(sink), std::move(on_end)};
}

}  // namespace warpgate::session
