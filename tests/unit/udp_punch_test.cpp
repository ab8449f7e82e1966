// udp_punch's pure pieces: the punch record, its authentication, the signaling messages, the
// NAT-pair choice and the birthday arithmetic; and the demultiplexer routing punch records by
// token over real loopback sockets.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <set>

#include "session/demux.hpp"
#include "session/record.hpp"
#include "support/run_async.hpp"
#include "traversal/birthday.hpp"
#include "traversal/punch_probe.hpp"
#include "traversal/udp_punch_message.hpp"
#include "traversal/udp_punch_plan.hpp"

using namespace warpgate;
using namespace warpgate::session;
using namespace warpgate::traversal;
using namespace std::chrono_literals;

namespace {

const Endpoint peer{asio::ip::make_address("198.51.100.7"), 40000};
const Endpoint stranger{asio::ip::make_address("198.51.100.66"), 40000};

Punch sample_punch() {
    Punch p;
    p.kind = Punch::Kind::confirm;
    p.role = Punch::Role::answerer;
    p.token.fill(0x11);
    p.nonce.fill(0x22);
    p.tag.fill(0x33);
    return p;
}

NatInfo nat(NatType type, DeltaType delta = DeltaType::not_applicable) {
    NatInfo n;
    n.type = type;
    n.delta_type = delta;
    return n;
}

}  // namespace

TEST(PunchRecord, RoundTripsAndIsRoutedByToken) {
    auto bytes = encode_punch(sample_punch());
    ASSERT_EQ(bytes.size(), punch_size);
    EXPECT_EQ(bytes[0], 0xD6);
    EXPECT_TRUE(is_record(0xD6));
    EXPECT_FALSE(is_record(0xD7));
    auto back = decode_punch(bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, sample_punch());
    EXPECT_EQ(punch_token_of(bytes), sample_punch().token);
    EXPECT_FALSE(receiver_of(bytes)) << "a punch record names no session";
}

TEST(PunchRecord, RejectsEveryMalformation) {
    auto good = encode_punch(sample_punch());
    auto bad_kind = good;
    bad_kind[1] = 3;
    auto bad_role = good;
    bad_role[2] = 2;
    auto longer = good;
    longer.push_back(0);
    auto shorter = good;
    shorter.pop_back();
    auto other_type = good;
    other_type[0] = 0xD5;
    for (auto* bad : {&bad_kind, &bad_role, &longer, &shorter, &other_type}) {
        auto r = decode_punch(*bad);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::malformed);
    }
    EXPECT_FALSE(punch_token_of(longer)) << "the demultiplexer routes only well-sized punch records";
    EXPECT_FALSE(punch_token_of(shorter));
}

TEST(PunchAuth, OnlyThePeerWithTheKeyIsHeard) {
    auto secret = PunchSecret::random();
    PunchAuth offerer(secret, Punch::Role::offerer);
    PunchAuth answerer(secret, Punch::Role::answerer);
    auto probe = offerer.probe(0, peer);
    auto opened = answerer.open(probe, 0, stranger);
    ASSERT_TRUE(opened) << "a probe is taken from anywhere (the peer's NAT picks its source)";
    EXPECT_EQ(opened->kind, Punch::Kind::probe);
    EXPECT_FALSE(offerer.open(probe, 0, peer)) << "our own probe reflected back";

    auto tampered = probe;
    tampered[12] ^= 1;  // the nonce
    EXPECT_FALSE(answerer.open(tampered, 0, stranger));
    PunchAuth other_key(PunchSecret{secret.token, PunchSecret::random().key}, Punch::Role::answerer);
    EXPECT_FALSE(other_key.open(probe, 0, stranger)) << "a stranger who saw the token has no key";
    PunchAuth other_token(PunchSecret::random(), Punch::Role::answerer);
    EXPECT_FALSE(other_token.open(probe, 0, stranger));

    auto confirm = answerer.confirm(*opened);
    EXPECT_TRUE(offerer.open(confirm, 0, peer)) << "from where the probe went";
    EXPECT_FALSE(offerer.open(confirm, 0, stranger)) << "the peer's confirmation replayed from elsewhere locks nothing";
    EXPECT_FALSE(offerer.open(confirm, 1, peer)) << "nor over another socket";
    auto unasked = answerer.confirm(*answerer.open(offerer.probe(0, peer), 0, peer));
    PunchAuth fresh(secret, Punch::Role::offerer);
    EXPECT_FALSE(fresh.open(unasked, 0, peer)) << "a confirmation of no probe we sent";
}

TEST(UdpPunchMessage, EveryTypeRoundTrips) {
    UdpPunchMessage offer;
    offer.type = UdpPunchMessage::Type::offer;
    offer.token.fill(7);
    offer.key.fill(9);
    offer.con_id.fill(3);
    offer.mode = PunchMode::answerer_hard;
    offer.candidates = {peer, Endpoint{asio::ip::make_address("2001:db8::1"), 9}};
    offer.offerer_address = Bytes{1, 2, 3};
    auto back = decode_punch_message(encode_punch_message(offer));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->token, offer.token);
    EXPECT_EQ(back->key, offer.key);
    EXPECT_EQ(back->con_id, offer.con_id);
    EXPECT_EQ(back->mode, offer.mode);
    EXPECT_EQ(back->candidates, offer.candidates);
    EXPECT_EQ(back->offerer_address, offer.offerer_address);

    UdpPunchMessage answer;
    answer.type = UdpPunchMessage::Type::answer;
    answer.clock_uncertainty = 1234us;
    answer.clock_synced = true;
    answer.candidates = {peer};
    back = decode_punch_message(encode_punch_message(answer));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->clock_uncertainty, answer.clock_uncertainty);
    EXPECT_TRUE(back->clock_synced);
    EXPECT_EQ(back->candidates, answer.candidates);

    UdpPunchMessage instant;
    instant.type = UdpPunchMessage::Type::instant;
    instant.start_ms = 1'764'590'400'123;
    instant.window = 4321ms;
    back = decode_punch_message(encode_punch_message(instant));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->start_ms, instant.start_ms);
    EXPECT_EQ(back->window, instant.window);

    UdpPunchMessage decline;
    decline.type = UdpPunchMessage::Type::decline;
    decline.reason = "busy\n";
    back = decode_punch_message(encode_punch_message(decline));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->reason, "busy?") << "printable ASCII only";
}

TEST(UdpPunchMessage, RejectsMalformations) {
    UdpPunchMessage answer;
    answer.type = UdpPunchMessage::Type::answer;
    answer.candidates = {peer};
    auto good = encode_punch_message(answer);
    ASSERT_TRUE(decode_punch_message(good));
    auto version = good;
    version[0] = 2;
    EXPECT_EQ(decode_punch_message(version).error().code, Errc::unsupported);
    auto type = good;
    type[1] = 5;
    auto none = good;
    auto synced = good;
    synced[14] = 2;
    none[15] = 0;  // candidate count
    auto family = good;
    family[16] = 5;
    auto port0 = good;
    port0[21] = port0[22] = 0;
    auto trailing = good;
    trailing.push_back(0);
    auto cut = good;
    cut.pop_back();
    for (auto* bad : {&type, &synced, &none, &family, &port0, &trailing, &cut}) EXPECT_EQ(decode_punch_message(*bad).error().code, Errc::malformed);
    answer.candidates.assign(UdpPunchMessage::max_candidates + 1, peer);
    EXPECT_THROW(encode_punch_message(answer), Exception);
}

TEST(PunchPlan, EveryNatPairGetsItsPunchOrAReason) {
    auto cone = nat(NatType::port_restricted);
    auto full = nat(NatType::full_cone);
    auto restricted = nat(NatType::restricted);
    auto open = nat(NatType::open_internet);
    auto sequential = nat(NatType::symmetric, DeltaType::independent);
    auto random = nat(NatType::symmetric, DeltaType::random);
    EXPECT_TRUE(is_random_symmetric(random));
    EXPECT_TRUE(is_predictable_symmetric(sequential));
    EXPECT_FALSE(is_random_symmetric(cone));
    for (auto& a : {cone, full, restricted, open, sequential})
        for (auto& b : {cone, full, restricted, open, sequential}) EXPECT_EQ(choose_punch(a, b).mode, PunchMode::plain);
    EXPECT_EQ(choose_punch(random, cone).mode, PunchMode::offerer_hard);
    EXPECT_EQ(choose_punch(cone, random).mode, PunchMode::answerer_hard);
    for (auto& easy : {full, restricted, open}) {
        EXPECT_EQ(choose_punch(random, easy).mode, PunchMode::plain) << "its filter takes the hard side's probes from any port";
        EXPECT_EQ(choose_punch(easy, random).mode, PunchMode::plain);
    }
    for (auto& [a, b] : {std::pair{random, random}, std::pair{random, sequential}, std::pair{sequential, random}}) {
        auto choice = choose_punch(a, b);
        EXPECT_FALSE(choice.mode);
        EXPECT_NE(choice.why_not.find("relay"), std::string::npos) << choice.why_not;
    }
}

TEST(Birthday, ArithmeticMatchesTheDocumentedNumbers) {
    EXPECT_NEAR(birthday::probability(256, 1024), 0.983, 0.001);
    EXPECT_EQ(birthday::probes_for(256, 0.99), 1159u);
    EXPECT_EQ(birthday::probes_for(256, 0.999), 1738u);
    EXPECT_GE(birthday::probability(256, birthday::probes_for(256, 0.999)), 0.999);
    EXPECT_LT(birthday::probability(256, birthday::probes_for(256, 0.999) - 1), 0.999);
    EXPECT_THROW(birthday::probes_for(256, 1.0), std::invalid_argument);
    auto ports = birthday::random_ports(1738);
    ASSERT_EQ(ports.size(), 1738u);
    std::set<std::uint16_t> distinct(ports.begin(), ports.end());
    EXPECT_EQ(distinct.size(), ports.size());
    EXPECT_GE(*distinct.begin(), birthday::first_port);
    EXPECT_NE(birthday::random_ports(1738), ports) << "random";
}

// Over real loopback sockets: records of a registered token reach its handler, others only a
// counter, and nothing reaches the handler once it is removed.
TEST(PunchDemux, RoutesByTokenAndDropsTheRestForACounter) {
    test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
        auto demux = std::make_shared<Demux>();
        auto listen = std::make_shared<asio::ip::udp::socket>(io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
        asio::co_spawn(io, demux->serve(listen, true), asio::detached);
        asio::ip::udp::socket sender(io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
        auto secret = PunchSecret::random();
        PunchAuth auth(secret, Punch::Role::offerer);
        std::vector<Bytes> heard;
        demux->add_punch(secret.token, [&](ByteView record, const UdpSocketPtr& socket, const Endpoint&) {
            EXPECT_EQ(socket, listen);
            heard.emplace_back(record.begin(), record.end());
        });
        auto ours = auth.probe(0, peer);
        auto foreign = PunchAuth(PunchSecret::random(), Punch::Role::offerer).probe(0, peer);
        auto to = listen->local_endpoint();
        asio::steady_timer timer(io);
        co_await sender.async_send_to(asio::buffer(foreign), to, asio::use_awaitable);
        co_await sender.async_send_to(asio::buffer(ours), to, asio::use_awaitable);
        timer.expires_after(100ms);
        co_await timer.async_wait(asio::use_awaitable);
        EXPECT_EQ(heard.size(), 1u);
        EXPECT_TRUE(!heard.empty() && heard[0] == ours);
        EXPECT_EQ(demux->stats().unknown_punch, 1u);
        demux->remove_punch(secret.token);
        co_await sender.async_send_to(asio::buffer(ours), to, asio::use_awaitable);
        timer.expires_after(100ms);
        co_await timer.async_wait(asio::use_awaitable);
        EXPECT_EQ(heard.size(), 1u);
        EXPECT_EQ(demux->stats().unknown_punch, 2u);
        EXPECT_EQ(demux->punches(), 0u);
        listen->close();
    });
}
