#include "api/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/fixed_clock.h"

namespace piivault::api {
namespace {

using piivault::testing::FixedClock;

class RateLimiterTest : public ::testing::Test {
 protected:
  RateLimiter Limiter(int per_minute, int burst, std::size_t max_keys = 100) {
    return RateLimiter(
        {.per_minute = per_minute, .burst = burst, .max_keys = max_keys},
        &clock);
  }
  // Spends `n` units of `key`.
  static void Spend(RateLimiter& limiter, std::string_view key, int n) {
    for (int i = 0; i < n; ++i) limiter.Spend(key);
  }
  FixedClock clock;
};

TEST_F(RateLimiterTest, AKeyMaySpendItsBurstThenWaitsForTheRate) {
  RateLimiter limiter = Limiter(/*per_minute=*/6, /*burst=*/3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.Blocked("a").has_value()) << i;
    limiter.Spend("a");
  }
  // One unit comes back every 10 s.
  EXPECT_EQ(limiter.Blocked("a"), std::chrono::seconds(10));
  clock.now += std::chrono::seconds(4);
  EXPECT_EQ(limiter.Blocked("a"), std::chrono::seconds(6));
  clock.now += std::chrono::seconds(6);
  EXPECT_FALSE(limiter.Blocked("a").has_value());
  limiter.Spend("a");
  EXPECT_TRUE(limiter.Blocked("a").has_value());
}

TEST_F(RateLimiterTest, RefillStopsAtTheBurst) {
  RateLimiter limiter = Limiter(/*per_minute=*/60, /*burst=*/2);
  Spend(limiter, "a", 2);
  clock.now += std::chrono::hours(1);
  Spend(limiter, "a", 2);
  EXPECT_TRUE(limiter.Blocked("a").has_value());
}

TEST_F(RateLimiterTest, SpendingInFlightPastTheBudgetIsPaidBack) {
  RateLimiter limiter = Limiter(/*per_minute=*/60, /*burst=*/2);
  // Four requests passed the check before any of them was counted.
  Spend(limiter, "a", 4);
  // -2 units: three seconds until one is available again.
  EXPECT_EQ(limiter.Blocked("a"), std::chrono::seconds(3));
  clock.now += std::chrono::seconds(2);
  EXPECT_TRUE(limiter.Blocked("a").has_value());
  clock.now += std::chrono::seconds(1);
  EXPECT_FALSE(limiter.Blocked("a").has_value());
}

TEST_F(RateLimiterTest, AClockSteppingBackEarnsNothing) {
  RateLimiter limiter = Limiter(/*per_minute=*/60, /*burst=*/1);
  limiter.Spend("a");
  clock.now -= std::chrono::hours(1);
  EXPECT_TRUE(limiter.Blocked("a").has_value());
  clock.now += std::chrono::hours(1) + std::chrono::seconds(1);
  EXPECT_FALSE(limiter.Blocked("a").has_value());
}

TEST_F(RateLimiterTest, KeysHaveSeparateBudgets) {
  RateLimiter limiter = Limiter(/*per_minute=*/1, /*burst=*/2);
  Spend(limiter, "a", 2);
  EXPECT_TRUE(limiter.Blocked("a").has_value());
  EXPECT_FALSE(limiter.Blocked("b").has_value());
  limiter.Spend("b");
  EXPECT_FALSE(limiter.Blocked("b").has_value());
  EXPECT_TRUE(limiter.Blocked("a").has_value());
}

TEST_F(RateLimiterTest, MemoryIsBoundedAndTheLeastRecentlyUsedKeyGoes) {
  RateLimiter limiter = Limiter(/*per_minute=*/1, /*burst=*/1, /*max_keys=*/3);
  for (std::string key : {"a", "b", "c"}) limiter.Spend(key);
  // Checking "a" makes it recent, so "b" is the one to go.
  EXPECT_TRUE(limiter.Blocked("a").has_value());
  limiter.Spend("d");
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_TRUE(limiter.Blocked("a").has_value());
  EXPECT_FALSE(limiter.Blocked("b").has_value());
  EXPECT_TRUE(limiter.Blocked("c").has_value());
  EXPECT_TRUE(limiter.Blocked("d").has_value());
  // An attacker cycling keys never grows it.
  for (int i = 0; i < 10'000; ++i) limiter.Spend("x" + std::to_string(i));
  EXPECT_EQ(limiter.size(), 3u);
}

TEST_F(RateLimiterTest, CheckingAddsNothingAndARefilledBucketIsDropped) {
  RateLimiter limiter = Limiter(/*per_minute=*/60, /*burst=*/2);
  EXPECT_FALSE(limiter.Blocked("a").has_value());
  EXPECT_EQ(limiter.size(), 0u);
  limiter.Spend("a");
  EXPECT_EQ(limiter.size(), 1u);
  clock.now += std::chrono::seconds(1);
  EXPECT_FALSE(limiter.Blocked("a").has_value());
  EXPECT_EQ(limiter.size(), 0u);
}

TEST_F(RateLimiterTest, ConcurrentUseKeepsTheBoundsAndTheBudget) {
  constexpr int kThreads = 8;
  constexpr int kBurst = 50;
  RateLimiter limiter =
      Limiter(/*per_minute=*/1, /*burst=*/kBurst, /*max_keys=*/16);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        // Check-then-spend on one shared key, as the API does ...
        if (!limiter.Blocked("shared")) {
          allowed.fetch_add(1);
          limiter.Spend("shared");
        }
        // ... while other keys churn through the capped map.
        limiter.Spend("t" + std::to_string(t) + "-" + std::to_string(i % 7));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(limiter.size(), 16u);
  // Each thread may pass the check once more while another one's spend of
  // the last unit is on its way, and no more.
  EXPECT_GE(allowed.load(), kBurst);
  EXPECT_LE(allowed.load(), kBurst + kThreads - 1);
}

TEST(SourceKeyTest, IPv4AsIsIPv6ByItsSlash64) {
  const std::pair<std::string, std::string> cases[] = {
      {"203.0.113.7", "203.0.113.7"},
      {"::ffff:203.0.113.7", "203.0.113.7"},  // dual-stack listener
      {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
      {"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
      {"2001:db8:1:3::1", "2001:db8:1:3::/64"},
      {"fe80::1%eth0", "fe80::/64"},
      {"", ""}};
  for (auto& [address, key] : cases) EXPECT_EQ(SourceKey(address), key);
}

TEST(RequestLimitsTest, OnlyUnauthenticatedAndPlainPermissionDeniedCount) {
  FixedClock clock;
  RequestLimits limits({.failed_auth_per_minute = 1,
                        .failed_auth_burst = 1,
                        .denied_per_minute = 1,
                        .denied_burst = 1},
                       &clock);
  for (const Status& other :
       {PermissionDenied("no", "consent_required"),
        PermissionDenied("no", "tenant_not_active"), NotFound("no"),
        InvalidArgument("no"), Unavailable("down")}) {
    limits.Authenticated("192.0.2.1", other);
    limits.Answered("id_app", other);
  }
  EXPECT_FALSE(limits.SourceBlocked("192.0.2.1").has_value());
  EXPECT_FALSE(limits.IdentityBlocked("id_app").has_value());
  limits.Authenticated("192.0.2.1", Unauthenticated("bad key"));
  limits.Answered("id_app", PermissionDenied("no"));
  EXPECT_TRUE(limits.SourceBlocked("192.0.2.1").has_value());
  EXPECT_TRUE(limits.IdentityBlocked("id_app").has_value());
  EXPECT_FALSE(limits.SourceBlocked("192.0.2.2").has_value());
  EXPECT_FALSE(limits.IdentityBlocked("id_other").has_value());
}

}  // namespace
}  // namespace piivault::api
