// Token buckets and the keyed rate limit (net/rate_limit.hpp), with a hand-moved clock; and the
// refusal counters with their rate-limited log (net/refusals.hpp).
#include <gtest/gtest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <warpgate/log.hpp>

#include "net/rate_limit.hpp"
#include "net/refusals.hpp"

using namespace warpgate::net;
using namespace std::chrono_literals;

namespace {
const RateClock::time_point t0 = RateClock::time_point() + 1000h;
}

TEST(TokenBucket, BurstThenRefillAtTheConfiguredRate) {
    TokenBucket bucket({3, 10s}, t0);
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.try_take(t0)) << "the burst is spent";
    EXPECT_FALSE(bucket.try_take(t0 + 3s)) << "0.9 tokens after 3 s";
    EXPECT_TRUE(bucket.try_take(t0 + 3400ms)) << "one token per 3.33 s";
    EXPECT_FALSE(bucket.try_take(t0 + 3400ms));
    EXPECT_FALSE(bucket.full(t0 + 12s));
    EXPECT_TRUE(bucket.full(t0 + 14s)) << "never more than the burst";
    int taken = 0;
    while (bucket.try_take(t0 + 100s)) ++taken;
    EXPECT_EQ(taken, 3) << "a long pause still gives only the burst";
}

TEST(TokenBucket, ReadyTakesNothingAndABackwardClockAddsNothing) {
    TokenBucket bucket({1, 1s}, t0);
    EXPECT_TRUE(bucket.ready(t0));
    EXPECT_TRUE(bucket.ready(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.ready(t0 - 5s));
    EXPECT_FALSE(bucket.ready(t0 + 999ms));
    EXPECT_TRUE(bucket.ready(t0 + 1001ms));
}

TEST(KeyedRateLimit, PerKeyAndTotalLimits) {
    using Verdict = KeyedRateLimit<int>::Verdict;
    KeyedRateLimit<int> limit({3, 10s}, {5, 10s}, t0);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(limit.admit(1, t0), Verdict::admitted);
    EXPECT_EQ(limit.admit(1, t0), Verdict::key_limited) << "key 1 spent its burst";
    EXPECT_EQ(limit.admit(2, t0), Verdict::admitted);
    EXPECT_EQ(limit.admit(2, t0), Verdict::admitted);
    EXPECT_EQ(limit.admit(3, t0), Verdict::total_limited) << "5 in all";
    EXPECT_EQ(limit.admit(1, t0), Verdict::key_limited);
    EXPECT_EQ(limit.tracked_keys(), 2u) << "a refused key gets no bucket";
    EXPECT_EQ(limit.admit(3, t0 + 2s), Verdict::admitted) << "the total refills at 0.5 per second";
    EXPECT_EQ(limit.admit(1, t0 + 4s), Verdict::admitted) << "key 1 refilled one token, the total another";
    EXPECT_EQ(limit.admit(1, t0 + 4s), Verdict::key_limited);
    EXPECT_EQ(limit.admit(4, t0 + 60s), Verdict::admitted);
    EXPECT_EQ(limit.tracked_keys(), 1u) << "full buckets are forgotten: only key 4's remains";
}

TEST(RefusalLog, CountsEveryRefusalAndLogsOneLinePerReasonPerInterval) {
    auto now = t0;
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    warpgate::set_logger(std::make_shared<spdlog::logger>("refusal_test", sink));
    spdlog::set_level(spdlog::level::info);

    RefusalLog log("listener", 10s, [&now] { return now; });
    EXPECT_TRUE(log.refuse("oversized_frame", "from 10.0.0.1:5"));
    for (int i = 0; i < 999; ++i) EXPECT_FALSE(log.refuse("oversized_frame", "from 10.0.0.1:5"));
    EXPECT_TRUE(log.refuse("idle", "from 10.0.0.2:6")) << "each reason has its own interval";
    now += 9s;
    EXPECT_FALSE(log.refuse("oversized_frame", "from 10.0.0.1:5"));
    now += 1s;
    EXPECT_TRUE(log.refuse("oversized_frame", "from 10.0.0.3:7"));

    EXPECT_EQ(log.count("oversized_frame"), 1002u);
    EXPECT_EQ(log.count("idle"), 1u);
    EXPECT_EQ(log.count("never"), 0u);
    EXPECT_EQ(log.total(), 1003u);
    auto counts = log.counts();
    ASSERT_EQ(counts.size(), 2u);
    EXPECT_EQ(counts["idle"], 1u);

    auto lines = sink->last_formatted();
    warpgate::set_logger(nullptr);
    ASSERT_EQ(lines.size(), 3u) << "1003 refusals, 3 lines";
    EXPECT_NE(lines[0].find("listener: refused (oversized_frame): from 10.0.0.1:5"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("[info]"), std::string::npos) << lines[0];
    EXPECT_NE(lines[2].find("1000 more since the last such line, 1002 in all"), std::string::npos) << lines[2];
}
