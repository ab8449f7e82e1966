// A misbehaving STUN peer for tests: not a mock of a real server but a hostile one, answering
// each Binding request with whatever the test wants (garbage, another transaction id, a lie).
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>
#include <warpgate/bytes.hpp>
#include <warpgate/endpoint.hpp>
#include "proto/stun.hpp"

namespace warpgate::test {

class HostileStunPeer {
public:
    // Called for the n-th request (n from 1); the datagrams returned are sent back to `from`.
    using Reply = std::function<std::vector<Bytes>(const stun::Message& request, const Endpoint& from, int n)>;

    explicit HostileStunPeer(Reply reply, const std::string& ip = "127.0.0.1");
    ~HostileStunPeer();
    HostileStunPeer(const HostileStunPeer&) = delete;
    HostileStunPeer& operator=(const HostileStunPeer&) = delete;

    Endpoint endpoint() const { return endpoint_; }
    HostPort host_port() const { return {endpoint_.ip.to_string(), endpoint_.port}; }
    int requests() const { return requests_; }

private:
    void serve();

    Reply reply_;
    int fd_ = -1;
    Endpoint endpoint_;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
    std::thread thread_;
};

// A correct success response to `request` claiming `mapped` (a lie, when it is not `from`).
Bytes binding_success(const stun::Message& request, const Endpoint& mapped);

}  // namespace warpgate::test
