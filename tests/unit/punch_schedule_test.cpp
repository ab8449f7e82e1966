// The punch's start instant: lead from the round trip and both clocks, the budget, late sides.
#include <gtest/gtest.h>

#include "traversal/punch_schedule.hpp"

using namespace warpgate;
using namespace warpgate::traversal;
using namespace std::chrono_literals;

namespace {

ClockReading reading(std::chrono::nanoseconds uncertainty, bool synced) {
    ClockReading r;
    r.now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    r.uncertainty = uncertainty;
    r.synced = synced;
    return r;
}

}  // namespace

TEST(PunchSchedule, LeadIsRoundTripPlusUncertaintiesPlusMargin) {
    ScheduleBudget budget;
    budget.margin = 10ms;
    budget.window = 1000ms;
    auto ours = reading(3ms, true);
    auto s = schedule_punch(ours, {5ms, true}, 2ms, budget);
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(s->lead, 20ms);  // 2 + 3 + 5 + 10
    EXPECT_EQ(s->start - ours.now, 20ms);
    EXPECT_EQ(s->uncertainty, 8ms);
    EXPECT_EQ(s->window, 1016ms);
    EXPECT_NE(s->describe().find("20.0 ms"), std::string::npos) << s->describe();
}

TEST(PunchSchedule, SubMillisecondRoundTripStartsWellUnder200ms) {
    auto s = schedule_punch(reading(0ns, false), {0ns, false}, 800us);
    ASSERT_TRUE(s);
    EXPECT_LT(s->lead, 200ms);
    EXPECT_EQ(s->uncertainty, 20ms);  // two unsynced clocks at the default 10 ms each
}

TEST(PunchSchedule, UncertaintyBeyondTheBudgetIsRefusedWithWhy) {
    ScheduleBudget budget;
    budget.max_uncertainty = 100ms;
    auto s = schedule_punch(reading(30ms, true), {80ms, true}, 1ms, budget);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::refused);
    EXPECT_NE(s.error().message.find("±110.0 ms"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("the peer's ±80.0 ms"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("budget ±100.0 ms"), std::string::npos) << s.error().message;
    // Exactly at the budget is fine.
    EXPECT_TRUE(schedule_punch(reading(20ms, true), {80ms, true}, 1ms, budget));
    // An unsynced clock counts as the budget says.
    budget.unsynced_uncertainty = 200ms;
    auto unsynced = schedule_punch(reading(0ns, false), {0ns, true}, 1ms, budget);
    ASSERT_FALSE(unsynced);
    EXPECT_NE(unsynced.error().message.find("unsynced"), std::string::npos) << unsynced.error().message;
}

TEST(PunchSchedule, ARoundTripBeyondTheLeadCapFails) {
    ScheduleBudget budget;
    budget.max_lead = 500ms;
    auto s = schedule_punch(reading(1ms, true), {1ms, true}, 600ms, budget);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::timeout);
    // A negative measurement (clock noise) counts as zero.
    auto n = schedule_punch(reading(1ms, true), {1ms, true}, -5ms, budget);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->lead, 12ms);
}

TEST(PunchSchedule, TimeUntilIsZeroOnceStartPassed) {
    auto now = reading(0ns, true);
    EXPECT_EQ(time_until(now.now + 15ms, now), 15ms);
    EXPECT_EQ(time_until(now.now - 15ms, now), 0ns);
}
