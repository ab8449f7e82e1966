// What the turn plugin's relays share (traversal/turn_plugin.hpp: datagrams through UDP
// allocations; traversal/turn_tcp_relay.hpp: streams through a TCP allocation, RFC 6062):
// the table of offers waiting for answers with the callee's limits, the allocation held
// while nothing owns it yet, and the allocation on the first configured server.
#pragma once
#include <asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <asio/steady_timer.hpp>
#include <warpgate/plugin.hpp>

#include "proto/turn_client.hpp"
#include "traversal/offer_admission.hpp"
#include "traversal/turn_plugin.hpp"
#include "traversal/turn_relay.hpp"
#include "traversal/turn_signal.hpp"

namespace warpgate::traversal {

// The answers initiators wait for, by connection id, and the callee's limits.
class TurnTable {
public:
    explicit TurnTable(const TurnPluginOptions& options)
        : admission_(options.offers_per_key, options.offers_total, options.max_allocations, "TURN allocations held") {}

    // Held while the callee allocates for one offer: it counts towards max_allocations.
    class Allocating {
    public:
        explicit Allocating(std::shared_ptr<TurnTable> table) : table_(std::move(table)) { ++table_->allocating_; }
        ~Allocating() { --table_->allocating_; }
        Allocating(const Allocating&) = delete;
        Allocating& operator=(const Allocating&) = delete;

    private:
        std::shared_ptr<TurnTable> table_;
    };

    // Why an offer from `sender` is not answered now (empty: admitted, counted in the limits).
    std::string admit(const Bytes& sender) {
        std::erase_if(allocations_, [](const std::weak_ptr<turn::Client>& weak) {
            auto client = weak.lock();
            return !client || !client->is_open();
        });
        return admission_.admit(sender, allocating_ + allocations_.size());
    }
    // A callee allocation, counted until it closes.
    void track(const std::shared_ptr<turn::Client>& client) { allocations_.push_back(client); }

    struct Mailbox {
        explicit Mailbox(asio::any_io_executor ex) : arrived(ex) {}
        Bytes sender;
        std::optional<TurnMessage> message;
        asio::steady_timer arrived;
    };

    // The initiator's wait for the answer to `id` from `sender`, registered until the handle
    // is destroyed.
    std::shared_ptr<Mailbox> expect(const ConnectionId& id, const Bytes& sender, asio::any_io_executor ex) {
        auto box = std::shared_ptr<Mailbox>(new Mailbox(ex), [this, id](Mailbox* m) {
            boxes_.erase(id);
            delete m;
        });
        box->sender = sender;
        boxes_[id] = box.get();
        return box;
    }

    // An answer or decline counts only from the peer the offer went to, once.
    void deliver(const Bytes& sender, TurnMessage message) {
        auto it = boxes_.find(message.con_id);
        if (it == boxes_.end()) return;
        auto* box = it->second;
        if (box->sender != sender || box->message) return;
        box->message = std::move(message);
        box->arrived.cancel();
    }

private:
    std::map<ConnectionId, Mailbox*> boxes_;
    OfferAdmission admission_;
    std::size_t allocating_ = 0;
    std::vector<std::weak_ptr<turn::Client>> allocations_;
};

// The message in `box`, or Errc::timeout after `timeout` (Errc::cancelled when cancelled).
asio::awaitable<TurnMessage> receive_answer(TurnTable::Mailbox& box, std::chrono::milliseconds timeout);

// An allocation nobody owns yet: deallocated (in the background) unless a path took it.
class HeldAllocation {
public:
    explicit HeldAllocation(std::shared_ptr<turn::Client> client) : client_(std::move(client)) {}
    ~HeldAllocation() {
        if (client_) close_in_background(std::move(client_));
    }
    HeldAllocation(const HeldAllocation&) = delete;
    HeldAllocation& operator=(const HeldAllocation&) = delete;
    void release() { client_.reset(); }

private:
    std::shared_ptr<turn::Client> client_;
};

// A decline of the offer `con_id`, saying why.
Bytes decline(const ConnectionId& con_id, std::string reason);

asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

// An allocation with a relayed address of `family` relaying `relay` (TCP: RFC 6062, on the
// servers reached over TCP only) on the first configured server that grants one, in order.
// Errc::unreachable with every server's failure. Defined in turn_plugin.cpp.
asio::awaitable<std::shared_ptr<turn::Client>> allocate_first(PluginContext& ctx, Family family, Transport relay = UDP);

}  // namespace warpgate::traversal
