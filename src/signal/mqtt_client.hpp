// One MQTT connection (libmosquitto), driven by the Asio event loop: the socket is watched with
// a stream_descriptor, mosquitto's read/write/misc steps run when it is ready. No thread.
// The connection is kept up by run(): lost connections come back with exponential backoff and
// the subscriptions are renewed each time.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include <warpgate/error.hpp>

struct mosquitto;  // libmosquitto's handle; only mqtt_client.cpp includes mosquitto.h
struct mosquitto_message;

namespace warpgate::signal {

class MqttClient : public std::enable_shared_from_this<MqttClient> {
public:
    using MessageHandler = std::function<void(const std::string& topic, ByteView payload)>;

    // connect_timeout bounds each connection attempt (TCP, CONNECT, CONNACK and SUBACKs).
    static std::shared_ptr<MqttClient> create(asio::any_io_executor ex, HostPort broker, std::chrono::milliseconds connect_timeout,
                                              MessageHandler on_message);
    ~MqttClient();
    MqttClient(const MqttClient&) = delete;
    MqttClient& operator=(const MqttClient&) = delete;

    const HostPort& broker() const { return broker_; }
    // Subscribed topics are renewed on every (re)connection. Call before run().
    void subscribe(std::string topic);
    // Keeps the connection until close() or cancellation; never throws for network failures.
    // The caller keeps the client alive until it returns.
    asio::awaitable<void> run();
    // Completes once connected and subscribed; Errc::timeout after `timeout`.
    asio::awaitable<void> wait_ready(std::chrono::milliseconds timeout);
    bool ready() const { return ready_; }
    // QoS 1. Errc::closed when not connected right now.
    Result<void> publish(const std::string& topic, ByteView payload);
    // Stops run() (which disconnects); safe to call more than once.
    void close();

private:
    MqttClient(asio::any_io_executor ex, HostPort broker, std::chrono::milliseconds connect_timeout, MessageHandler on_message);
    asio::awaitable<bool> connect_once();
    asio::awaitable<void> serve();  // until the connection drops or close()
    void set_ready(bool ready);
    void wake();

    static void on_connect(mosquitto*, void* self, int rc);
    static void on_disconnect(mosquitto*, void* self, int rc);
    static void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted);
    static void on_message(mosquitto*, void* self, const mosquitto_message* message);

    asio::any_io_executor executor_;
    HostPort broker_;
    std::chrono::milliseconds connect_timeout_;
    MessageHandler on_message_;
    std::vector<std::string> topics_;
    mosquitto* mosq_ = nullptr;
    bool connected_ = false;
    bool ready_ = false;
    bool closed_ = false;
    int pending_subacks_ = 0;
    asio::steady_timer wake_;         // cancelled when the loop must look again (publish, close)
    std::list<asio::steady_timer*> ready_waiters_;  // each cancelled when ready_ changes
};

}  // namespace warpgate::signal
