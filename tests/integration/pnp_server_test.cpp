// warpgate-pnpd as a process (tests/support/pnpd.hpp) against the PNP client and raw datagrams:
// the name rules, every refusal with its error reply, expiry, quota and bump, crash safety,
// and two instances sharing one PostgreSQL database.
#include <asio/ip/udp.hpp>
#include <atomic>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <thread>

#include "crypto/seal.hpp"
#include "proto/pnp_client.hpp"
#include "support/pnpd.hpp"
#include "support/run_async.hpp"

namespace warpgate::test {
namespace {

using pnp::Reply;
using pnp::Status;

// Outside coroutines: GCC 12 cannot keep an initializer list in a coroutine frame.
std::vector<NicknameServer> servers_of(std::initializer_list<NicknameServer> list) { return list; }

struct Owner {
    crypto::IdentityKey key = crypto::IdentityKey::generate();
    pnp::ClientOptions options;

    Result<Reply> op(const Pnpd& server, pnp::Op op, std::string name, std::string value = {}) {
        auto servers = servers_of({server.server()});
        return run_async([&](asio::io_context& io) -> asio::awaitable<Result<Reply>> {
            pnp::Client client(io.get_executor(), servers, key, options);
            if (op == pnp::Op::register_name) {
                auto r = co_await client.register_name(name, as_bytes(value));
                co_return r;
            }
            if (op == pnp::Op::lookup) {
                auto r = co_await client.lookup(name);
                co_return r;
            }
            auto r = co_await client.remove(name);
            co_return r;
        });
    }
    Result<Reply> put(const Pnpd& s, std::string name, std::string value) { return op(s, pnp::Op::register_name, name, value); }
    Result<Reply> get(const Pnpd& s, std::string name) { return op(s, pnp::Op::lookup, name); }
    Result<Reply> del(const Pnpd& s, std::string name) { return op(s, pnp::Op::remove, name); }
};

Status status_of(const Result<Reply>& r) {
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->status : Status::server_error;
}

// One datagram to the server and its answer (or nothing within `wait`). Plain POSIX calls:
// Asio's blocking receive would poll past SO_RCVTIMEO.
std::optional<Bytes> raw_exchange(const Pnpd& server, ByteView datagram, std::chrono::milliseconds wait = std::chrono::milliseconds(1000)) {
    asio::io_context io;
    asio::ip::udp::socket socket(io, asio::ip::udp::v4());
    socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    socket.send(asio::buffer(datagram.data(), datagram.size()));
    Bytes buffer(pnp::max_message_size);
    auto n = ::recv(socket.native_handle(), buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
}

Reply open(const Bytes& sealed, const pnp::Request& q) {
    auto r = pnp::open_reply(sealed, q.reply_key);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : Reply{};
}

TEST(PnpServer, RegisterLookupUpdateDelete) {
    Pnpd server;
    Owner alice;
    auto put = alice.put(server, "alice", "wg1first");
    ASSERT_EQ(status_of(put), Status::ok) << put->detail;
    EXPECT_GT(put->expires_ms, 0u);
    Owner reader;
    auto got = reader.get(server, "alice.p2p");  // anyone looks up, with or without the TLD
    ASSERT_EQ(status_of(got), Status::ok);
    EXPECT_EQ(as_chars(got->value), "wg1first");
    EXPECT_EQ(got->owner, alice.key.public_key());

    auto update = alice.put(server, "ALICE", "wg1second");
    ASSERT_EQ(status_of(update), Status::ok);
    EXPECT_EQ(update->detail, "updated");
    EXPECT_EQ(as_chars(reader.get(server, "alice")->value), "wg1second");

    alice.options.tcp = true;  // the same over TCP framing
    ASSERT_EQ(status_of(alice.del(server, "alice")), Status::ok);
    EXPECT_EQ(status_of(reader.get(server, "alice")), Status::not_found);
    EXPECT_EQ(status_of(alice.del(server, "alice")), Status::not_found);
}

TEST(PnpServer, AnotherKeyCannotTakeUpdateOrDelete) {
    Pnpd server;
    Owner alice, mallory;
    ASSERT_EQ(status_of(alice.put(server, "alice", "wg1alice")), Status::ok);
    auto take = mallory.put(server, "alice", "wg1mallory");
    ASSERT_EQ(status_of(take), Status::owned_by_other_key);
    EXPECT_EQ(take->owner, alice.key.public_key());
    EXPECT_EQ(status_of(mallory.del(server, "alice")), Status::owned_by_other_key);
    EXPECT_EQ(as_chars(mallory.get(server, "alice")->value), "wg1alice");
}

TEST(PnpServer, ForgedSignatureGetsBadSignature) {
    Pnpd server;
    Owner alice;
    ASSERT_EQ(status_of(alice.put(server, "alice", "wg1alice")), Status::ok);
    // Claims alice's key, signed by another: the server sees through it.
    auto forger = crypto::IdentityKey::generate();
    auto q = pnp::make_request(pnp::Op::remove, alice.key, "alice", {}, {});
    auto sealed = pnp::seal_request(q, server.key().public_key(), forger);
    ASSERT_TRUE(sealed);
    auto answer = raw_exchange(server, *sealed);
    ASSERT_TRUE(answer);
    EXPECT_EQ(open(*answer, q).status, Status::bad_signature);
    EXPECT_EQ(status_of(alice.get(server, "alice")), Status::ok);
    // Sealed to another key: it does not open, and nothing can be answered.
    auto elsewhere = pnp::seal_request(q, crypto::IdentityKey::generate().public_key(), alice.key);
    EXPECT_FALSE(raw_exchange(server, *elsewhere, std::chrono::milliseconds(300)));
}

TEST(PnpServer, MalformedRequestGetsMalformed) {
    Pnpd server;
    auto owner = crypto::IdentityKey::generate();
    auto q = pnp::make_request(pnp::Op::lookup, owner, "alice", {}, {});
    auto plain = pnp::encode_request(q, server.key().public_key(), owner);
    plain[49] = 9;  // the op
    auto sealed = crypto::seal(server.key().public_key(), plain, as_bytes("warpgate-pnp-request-v1"));
    auto answer = raw_exchange(server, *sealed);
    ASSERT_TRUE(answer);
    auto reply = open(*answer, q);
    EXPECT_EQ(reply.status, Status::malformed);
    EXPECT_NE(reply.detail.find("unknown op 9"), std::string::npos) << reply.detail;
}

TEST(PnpServer, ReplayedRequestsChangeNothing) {
    Pnpd server;
    Owner alice;
    auto q = pnp::make_request(pnp::Op::register_name, alice.key, "alice", to_bytes("wg1alice"), {});
    auto sealed = *pnp::seal_request(q, server.key().public_key(), alice.key);
    auto first = raw_exchange(server, sealed);
    ASSERT_TRUE(first);
    EXPECT_EQ(open(*first, q).status, Status::ok);
    // A retransmission gets the very reply already sent.
    EXPECT_EQ(raw_exchange(server, sealed), first);
    ASSERT_EQ(status_of(alice.del(server, "alice")), Status::ok);
    // Replayed after the delete: the old reply again, and the name stays deleted.
    EXPECT_EQ(raw_exchange(server, sealed), first);
    EXPECT_EQ(status_of(alice.get(server, "alice")), Status::not_found);
    // Another request under the same id is refused as replayed.
    auto twin = pnp::make_request(pnp::Op::lookup, alice.key, "alice", {}, {});
    twin.id = q.id;
    twin.reply_key = q.reply_key;
    auto twin_answer = raw_exchange(server, *pnp::seal_request(twin, server.key().public_key(), alice.key));
    ASSERT_TRUE(twin_answer);
    EXPECT_EQ(open(*twin_answer, twin).status, Status::replayed);
    // A restarted server has forgotten its replies; the deletion's tombstone makes the replay stale.
    server.kill9();
    server.start();
    auto after_restart = raw_exchange(server, sealed);
    ASSERT_TRUE(after_restart);
    EXPECT_EQ(open(*after_restart, q).status, Status::stale) << open(*after_restart, q).detail;
    EXPECT_EQ(status_of(alice.get(server, "alice")), Status::not_found);
}

TEST(PnpServer, StaleRequestsAreRefused) {
    Pnpd server;
    Owner alice;
    auto now = std::chrono::system_clock::now();
    alice.options.clock = [now] { return now - std::chrono::minutes(10); };
    auto old = alice.put(server, "alice", "wg1old");
    ASSERT_EQ(status_of(old), Status::stale);
    EXPECT_NE(old->detail.find("expired"), std::string::npos) << old->detail;
    alice.options.clock = [now] { return now + std::chrono::minutes(10); };
    EXPECT_EQ(status_of(alice.put(server, "alice", "wg1future")), Status::stale);
    // An update older than the last change is stale too (within its own lifetime).
    alice.options.clock = [now] { return now; };
    ASSERT_EQ(status_of(alice.put(server, "alice", "wg1now")), Status::ok);
    alice.options.clock = [now] { return now - std::chrono::seconds(5); };
    EXPECT_EQ(status_of(alice.put(server, "alice", "wg1earlier")), Status::stale);
    EXPECT_EQ(status_of(alice.del(server, "alice")), Status::stale);
    EXPECT_EQ(as_chars(alice.get(server, "alice")->value), "wg1now");
}

TEST(PnpServer, NamesExpireUnlessRefreshed) {
    Pnpd server(nlohmann::json{{"name_ttl_s", 1}, {"purge_interval_ms", 200}});
    Owner alice;
    ASSERT_EQ(status_of(alice.put(server, "alice", "wg1alice")), Status::ok);
    ASSERT_EQ(status_of(alice.put(server, "kept", "wg1kept")), Status::ok);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_EQ(status_of(alice.put(server, "kept", "wg1kept")), Status::ok);  // refreshed
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_EQ(status_of(alice.get(server, "alice")), Status::not_found);
    EXPECT_EQ(status_of(alice.get(server, "kept")), Status::ok);
    // An expired name is free for anyone.
    Owner bob;
    EXPECT_EQ(status_of(bob.put(server, "alice", "wg1bob")), Status::ok);
}

TEST(PnpServer, QuotaBumpsTheOldestNameOfTheAddress) {
    Pnpd server(nlohmann::json{{"names_per_source", 3}});
    Owner owner;
    for (auto name : {"one", "two", "three"}) ASSERT_EQ(status_of(owner.put(server, name, "wg1x")), Status::ok);
    auto fourth = owner.put(server, "four", "wg1x");
    ASSERT_EQ(status_of(fourth), Status::ok);
    EXPECT_NE(fourth->detail.find("bumped 'one'"), std::string::npos) << fourth->detail;
    EXPECT_EQ(status_of(owner.get(server, "one")), Status::not_found);
    for (auto name : {"two", "three", "four"}) EXPECT_EQ(status_of(owner.get(server, name)), Status::ok) << name;
    // An update is not a new name: nothing is bumped.
    ASSERT_EQ(status_of(owner.put(server, "two", "wg1y")), Status::ok);
    EXPECT_EQ(status_of(owner.get(server, "three")), Status::ok);
}

TEST(PnpServer, QuotaWithoutBumpRefuses) {
    Pnpd server(nlohmann::json{{"names_per_source", 2}, {"bump", false}});
    Owner owner;
    ASSERT_EQ(status_of(owner.put(server, "one", "wg1x")), Status::ok);
    ASSERT_EQ(status_of(owner.put(server, "two", "wg1x")), Status::ok);
    auto third = owner.put(server, "three", "wg1x");
    ASSERT_EQ(status_of(third), Status::quota);
    EXPECT_NE(third->detail.find("127.0.0.1 holds 2 names"), std::string::npos) << third->detail;
    EXPECT_EQ(status_of(owner.get(server, "one")), Status::ok);
    ASSERT_EQ(status_of(owner.del(server, "one")), Status::ok);  // a deleted name frees its place
    EXPECT_EQ(status_of(owner.put(server, "three", "wg1x")), Status::ok);
}

TEST(PnpServer, RateLimitDropsExcessRequests) {
    Pnpd server(nlohmann::json{{"rate_per_source", 3}});
    Owner owner;
    owner.options.timeout = std::chrono::milliseconds(200);
    owner.options.max_sends = 1;
    int answered = 0, silent = 0;
    for (int i = 0; i < 10; ++i) {
        auto r = owner.get(server, "nobody");
        if (r) ++answered;
        else if (r.error().message.find("no reply") != std::string::npos) ++silent;
        else ADD_FAILURE() << r.error().to_string();
    }
    EXPECT_GE(answered, 3);
    EXPECT_LE(answered, 6);  // 3 at once, then 3 per second over the ~2 s this takes
    EXPECT_EQ(answered + silent, 10);
}

TEST(PnpServer, DeadServerIsSkippedQuickly) {
    Pnpd live;
    Owner owner;
    ASSERT_EQ(status_of(owner.put(live, "alice", "wg1alice")), Status::ok);
    auto dead = live.server();
    dead.server.port = static_cast<std::uint16_t>(live.port() + 1);  // nothing listens there
    auto begin = std::chrono::steady_clock::now();
    auto servers = servers_of({dead, live.server()});
    auto r = run_async([&](asio::io_context& io) -> asio::awaitable<Result<Reply>> {
        pnp::Client client(io.get_executor(), servers, owner.key);
        auto found = co_await client.lookup("alice");
        co_return found;
    });
    auto took = std::chrono::steady_clock::now() - begin;
    ASSERT_EQ(status_of(r), Status::ok);
    EXPECT_LT(took, std::chrono::milliseconds(500));  // port unreachable, not a timeout
}

TEST(PnpServer, KillNineDuringBurstLosesNothingAcknowledged) {
    Pnpd server;
    Owner owner;
    owner.options.timeout = std::chrono::milliseconds(300);
    std::vector<std::string> acknowledged;
    std::atomic<bool> killed = false;
    std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        server.kill9();
        killed = true;
    });
    auto servers = servers_of({server.server()});
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        pnp::Client client(io.get_executor(), servers, owner.key, owner.options);
        for (int i = 0; i < 100000; ++i) {
            auto name = "burst-" + std::to_string(i);
            auto r = co_await client.register_name(name, as_bytes("wg1burst"));
            if (r && r->status == Status::ok) acknowledged.push_back(name);
            else if (killed) break;
        }
    });
    killer.join();
    ASSERT_GT(acknowledged.size(), 20u) << "the burst barely ran before the kill";
    server.start();
    std::size_t found = 0;
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        pnp::Client client(io.get_executor(), servers, owner.key);
        for (auto& name : acknowledged) {
            auto r = co_await client.lookup(name);
            if (r && r->status == Status::ok) ++found;
        }
    });
    EXPECT_EQ(found, acknowledged.size());
    std::printf("kill -9 after %zu acknowledged registrations: %zu found after restart\n", acknowledged.size(), found);
}

TEST(PnpServer, SigtermStopsCleanlyAndKeepsNames) {
    Pnpd server;
    Owner alice;
    ASSERT_EQ(status_of(alice.put(server, "alice", "wg1alice")), Status::ok);
    ASSERT_TRUE(server.terminate(std::chrono::milliseconds(3000))) << server.log();
    EXPECT_NE(server.log().find("signal 15: stopping"), std::string::npos) << server.log();
    EXPECT_NE(server.log().find("stopped: 1 requests, 1 replies"), std::string::npos) << server.log();
    server.start();
    EXPECT_EQ(as_chars(alice.get(server, "alice")->value), "wg1alice");
}

TEST(PnpServer, TwoInstancesShareOnePostgresDatabase) {
    if (auto reason = Postgres::unavailable()) GTEST_SKIP() << *reason;
    Postgres db;
    auto store = "postgresql:" + db.conninfo();
    Pnpd first(nlohmann::json{{"store", store}});
    Pnpd second(nlohmann::json{{"store", store}});
    Owner alice, bob;
    ASSERT_EQ(status_of(alice.put(first, "alice", "wg1alice")), Status::ok);
    auto seen = bob.get(second, "alice");  // at once: no propagation delay
    ASSERT_EQ(status_of(seen), Status::ok);
    EXPECT_EQ(as_chars(seen->value), "wg1alice");
    EXPECT_EQ(status_of(bob.put(second, "alice", "wg1bob")), Status::owned_by_other_key);
    ASSERT_EQ(status_of(bob.put(second, "bob", "wg1bob")), Status::ok);
    EXPECT_EQ(as_chars(alice.get(first, "bob")->value), "wg1bob");
    ASSERT_EQ(status_of(alice.del(second, "alice")), Status::ok);
    EXPECT_EQ(status_of(bob.get(first, "alice")), Status::not_found);
}

}  // namespace
}  // namespace warpgate::test
