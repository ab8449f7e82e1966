#include "signal/mqtt_client.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/redirect_error.hpp>
#include <mosquitto.h>
#include <mutex>
#include "log.hpp"

#include "crypto/random.hpp"
#include "net/resolve.hpp"
#include "net/timeout.hpp"

namespace warpgate::signal {
namespace {

using namespace std::chrono_literals;
constexpr int keepalive_seconds = 30;
constexpr auto misc_interval = 1s;       // mosquitto_loop_misc: keepalive pings, QoS retries
constexpr auto first_backoff = 250ms;
constexpr auto max_backoff = 30s;

void init_library() {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string random_client_id() {
    std::array<std::uint8_t, 8> bytes{};
    crypto::random_bytes(bytes);
    return "wg-" + to_hex(bytes);  // 19 characters: MQTT 3.1.1 brokers accept up to 23
}

// Lends mosquitto's socket to Asio for one wait. The descriptor is released (never closed):
// mosquitto owns the fd and may close it in any loop call.
struct BorrowedSocket {
    BorrowedSocket(asio::any_io_executor ex, int fd) : descriptor(ex, fd) {}
    ~BorrowedSocket() { descriptor.release(); }
    asio::posix::stream_descriptor descriptor;
};

}  // namespace

std::shared_ptr<MqttClient> MqttClient::create(asio::any_io_executor ex, HostPort broker, std::chrono::milliseconds connect_timeout,
                                               MessageHandler on_message) {
    return std::shared_ptr<MqttClient>(new MqttClient(ex, std::move(broker), connect_timeout, std::move(on_message)));
}

MqttClient::MqttClient(asio::any_io_executor ex, HostPort broker, std::chrono::milliseconds connect_timeout, MessageHandler on_message)
    : executor_(ex), broker_(std::move(broker)), connect_timeout_(connect_timeout), on_message_(std::move(on_message)),
      wake_(ex) {
    init_library();
    mosq_ = mosquitto_new(random_client_id().c_str(), true, this);
    if (!mosq_) throw Exception(Errc::io, "mosquitto_new failed");
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // Signals are small writes that wait for an answer: Nagle's algorithm would hold each one
    // behind the broker's delayed ACK of the last (about 40 ms per offer or answer).
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq_, &MqttClient::on_connect);
    mosquitto_disconnect_callback_set(mosq_, &MqttClient::on_disconnect);
    mosquitto_subscribe_callback_set(mosq_, &MqttClient::on_subscribe);
    mosquitto_message_callback_set(mosq_, &MqttClient::on_message);
}

MqttClient::~MqttClient() { mosquitto_destroy(mosq_); }  // closes the socket, if any

void MqttClient::subscribe(std::string topic) { topics_.push_back(std::move(topic)); }

void MqttClient::close() {
    closed_ = true;
    wake();
}

void MqttClient::wake() { wake_.cancel(); }

void MqttClient::set_ready(bool ready) {
    if (ready_ == ready) return;
    ready_ = ready;
    for (auto* waiter : ready_waiters_) waiter->cancel();
}

asio::awaitable<void> MqttClient::wait_ready(std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer timer(executor_);
    ready_waiters_.push_back(&timer);
    struct Unlist {
        Unlist(std::list<asio::steady_timer*>& l, asio::steady_timer* t) : list(l), timer(t) {}
        ~Unlist() { list.remove(timer); }
        std::list<asio::steady_timer*>& list;
        asio::steady_timer* timer;
    } unlist(ready_waiters_, &timer);
    while (!ready_) {
        if (closed_) throw Exception(Errc::closed, "MQTT client for " + broker_.to_string() + " was closed");
        if (std::chrono::steady_clock::now() >= deadline)
            throw Exception(Errc::timeout, "MQTT broker " + broker_.to_string() + " not connected within " + net::describe(timeout));
        timer.expires_at(deadline);
        asio::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        auto stop = co_await net::cancelled();
        if (stop) throw Exception(Errc::cancelled, "waiting for MQTT broker " + broker_.to_string() + " cancelled");
    }
}

Result<void> MqttClient::publish(const std::string& topic, ByteView payload) {
    if (!ready_) return fail(Errc::closed, "not connected to MQTT broker " + broker_.to_string());
    int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) return fail(Errc::io, "publishing to " + broker_.to_string() + ": " + mosquitto_strerror(rc));
    wake();  // what did not fit in the socket now waits for it to become writable
    return {};
}

asio::awaitable<void> MqttClient::run() {
    auto backoff = std::chrono::milliseconds(first_backoff);
    while (!closed_) {
        bool started = false;
        try {
            started = co_await connect_once();
        } catch (const Exception& e) {
            log::info("MQTT broker {}: {}", broker_.to_string(), e.what());
        }
        if (started) {
            co_await serve();
            if (ready_) backoff = first_backoff;  // it worked for a while: start the backoff over
            set_ready(false);
            connected_ = false;
        }
        auto stop = co_await net::cancelled();
        if (stop || closed_) break;
        log::info("MQTT broker {}: reconnecting in {}", broker_.to_string(), net::describe(backoff));
        wake_.expires_after(backoff);  // close() cuts the pause short
        asio::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
    }
    closed_ = true;
    set_ready(false);
}

asio::awaitable<bool> MqttClient::connect_once() {
    auto found = co_await net::resolve(executor_, broker_, std::nullopt, connect_timeout_);
    if (!found) throw Exception(found.error());
    auto ip = found->front().ip.to_string();
    pending_subacks_ = 0;
    int rc = mosquitto_connect_async(mosq_, ip.c_str(), broker_.port, keepalive_seconds);
    if (rc != MOSQ_ERR_SUCCESS) {
        auto reason = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : std::string(mosquitto_strerror(rc));
        log::info("MQTT broker {}: {}", broker_.to_string(), reason);
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> MqttClient::serve() {
    using namespace asio::experimental::awaitable_operators;
    auto deadline = std::chrono::steady_clock::now() + connect_timeout_;
    for (;;) {
        auto stop = co_await net::cancelled();
        if (stop) closed_ = true;
        if (closed_) {
            mosquitto_disconnect(mosq_);
            co_return;
        }
        int fd = mosquitto_socket(mosq_);
        if (fd < 0) co_return;  // the connection was lost (on_disconnect said why)
        auto now = std::chrono::steady_clock::now();
        if (!ready_ && now >= deadline) {
            log::info("MQTT broker {}: no answer within {}", broker_.to_string(), net::describe(connect_timeout_));
            mosquitto_disconnect(mosq_);
            co_return;
        }
        auto wait_for = ready_ ? std::chrono::duration_cast<std::chrono::milliseconds>(misc_interval)
                               : std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                                          std::chrono::duration_cast<std::chrono::milliseconds>(misc_interval));
        wake_.expires_after(wait_for);
        std::size_t which = 2;
        {
            BorrowedSocket socket(executor_, fd);
            auto& d = socket.descriptor;
            asio::error_code read_ec, write_ec, timer_ec;
            if (mosquitto_want_write(mosq_)) {
                auto r = co_await (d.async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(asio::use_awaitable, read_ec)) ||
                                   d.async_wait(asio::posix::descriptor_base::wait_write, asio::redirect_error(asio::use_awaitable, write_ec)) ||
                                   wake_.async_wait(asio::redirect_error(asio::use_awaitable, timer_ec)));
                which = r.index();
            } else {
                auto r = co_await (d.async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(asio::use_awaitable, read_ec)) ||
                                   wake_.async_wait(asio::redirect_error(asio::use_awaitable, timer_ec)));
                which = r.index() == 0 ? 0 : 2;
            }
        }
        int rc = MOSQ_ERR_SUCCESS;
        if (which == 0) rc = mosquitto_loop_read(mosq_, 1);
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0 && mosquitto_want_write(mosq_)) rc = mosquitto_loop_write(mosq_, 1);
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0) rc = mosquitto_loop_misc(mosq_);
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
            log::info("MQTT broker {}: connection lost: {}", broker_.to_string(),
                         rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : std::string(mosquitto_strerror(rc)));
        if (rc != MOSQ_ERR_SUCCESS) co_return;
    }
}

void MqttClient::on_connect(mosquitto*, void* obj, int rc) {
    auto* self = static_cast<MqttClient*>(obj);
    if (rc != 0) {
        log::info("MQTT broker {} refused the connection: {}", self->broker_.to_string(), mosquitto_connack_string(rc));
        return;
    }
    self->connected_ = true;
    for (auto& topic : self->topics_) {
        int sub = mosquitto_subscribe(self->mosq_, nullptr, topic.c_str(), 1);
        if (sub == MOSQ_ERR_SUCCESS) ++self->pending_subacks_;
        else log::warn("MQTT broker {}: subscribing to {}: {}", self->broker_.to_string(), topic, mosquitto_strerror(sub));
    }
    if (self->pending_subacks_ == 0) self->set_ready(true);
    log::debug("MQTT broker {}: connected", self->broker_.to_string());
}

void MqttClient::on_disconnect(mosquitto*, void* obj, int rc) {
    auto* self = static_cast<MqttClient*>(obj);
    self->connected_ = false;
    self->set_ready(false);
    if (rc != 0 && !self->closed_) log::info("MQTT broker {}: disconnected unexpectedly", self->broker_.to_string());
}

void MqttClient::on_subscribe(mosquitto*, void* obj, int, int, const int*) {
    auto* self = static_cast<MqttClient*>(obj);
    if (self->pending_subacks_ > 0 && --self->pending_subacks_ == 0) {
        log::debug("MQTT broker {}: subscribed", self->broker_.to_string());
        self->set_ready(true);
    }
}

void MqttClient::on_message(mosquitto*, void* obj, const mosquitto_message* message) {
    auto* self = static_cast<MqttClient*>(obj);
    if (!self->on_message_ || !message->topic) return;
    self->on_message_(message->topic, ByteView(static_cast<const std::uint8_t*>(message->payload), static_cast<std::size_t>(message->payloadlen)));
}

}  // namespace warpgate::signal
