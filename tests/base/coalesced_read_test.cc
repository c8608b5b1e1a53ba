#include "base/coalesced_read.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "support/eventually.h"

namespace piivault {
namespace {

using namespace std::chrono_literals;
using piivault::testing::Eventually;

TEST(CoalescedReadTest, ALoneCallerReadsForItself) {
  CoalescedRead<int> shared;
  int n = 0;
  EXPECT_EQ(shared.Get([&] { return ++n; }), 1);
  EXPECT_EQ(shared.Get([&] { return ++n; }), 2);
  EXPECT_EQ(shared.reads(), 2u);
}

// Callers arriving while a read is under way never get its value (it may
// predate what they must see); they share the one read that follows.
TEST(CoalescedReadTest, CallersArrivingMidReadShareTheNextRead) {
  CoalescedRead<int> shared;
  std::atomic<int> begun{0};
  std::promise<void> release_first;
  std::shared_future<void> first_released = release_first.get_future().share();
  auto read = [&] {
    const int n = ++begun;
    if (n == 1) first_released.wait();
    return n;
  };
  auto a = std::async(std::launch::async, [&] { return shared.Get(read); });
  ASSERT_TRUE(Eventually([&] { return begun.load() == 1; }));
  auto b = std::async(std::launch::async, [&] { return shared.Get(read); });
  auto c = std::async(std::launch::async, [&] { return shared.Get(read); });
  ASSERT_TRUE(Eventually([&] { return shared.waiting() == 2; }));

  release_first.set_value();
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.get(), 2);
  EXPECT_EQ(c.get(), 2);
  EXPECT_EQ(shared.reads(), 2u);
}

// Under load, every caller gets a value read after it called: never older
// than the version current at its call.
TEST(CoalescedReadTest, NoCallerGetsAValueOlderThanItsCall) {
  CoalescedRead<std::uint64_t> shared;
  std::atomic<std::uint64_t> version{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) {
      ++version;
      std::this_thread::yield();
    }
  });
  std::atomic<int> stale{0};
  std::atomic<int> calls{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const std::uint64_t at_call = version.load();
        const std::uint64_t got = shared.Get([&] {
          const std::uint64_t v = version.load();
          std::this_thread::sleep_for(20us);  // a round trip
          return v;
        });
        if (got < at_call) ++stale;
        ++calls;
      }
    });
  }
  for (auto& c : callers) c.join();
  stop = true;
  writer.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_LT(shared.reads(), static_cast<std::uint64_t>(calls.load()))
      << "no read was shared";
}

}  // namespace
}  // namespace piivault
