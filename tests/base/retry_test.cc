#include "base/retry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace piivault {
namespace {

TEST(RetryOnConflictTest, RetriesAbortedStatusUntilItSucceeds) {
  int calls = 0;
  Status s = RetryOnConflict("the thing", [&] {
    return ++calls < 3 ? Aborted("lost") : Status::Ok();
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);
}

TEST(RetryOnConflictTest, ReturnsOtherErrorsAtOnce) {
  int calls = 0;
  Result<int> r = RetryOnConflict("the thing", [&]() -> Result<int> {
    ++calls;
    return Err(NotFound("gone"));
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(calls, 1);
}

TEST(RetryOnConflictTest, GivesUpAfterMaxAttemptsNamingWhat) {
  int calls = 0;
  Result<int> r = RetryOnConflict(
      "the thing",
      [&]() -> Result<int> {
        ++calls;
        return Err(Aborted("lost"));
      },
      8);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kAborted);
  EXPECT_EQ(r.error().message(), "the thing changed concurrently; retry");
  EXPECT_EQ(calls, 8);
}

// An attempt returning std::optional says itself when it lost a race, so a
// kAborted that re-reading cannot change ("being relocated", with its API
// reason) is returned as it is, at once.
TEST(RetryOnConflictTest, ExplicitAttemptReturnsItsAbortedAsTheAnswer) {
  int calls = 0;
  Result<int> r = RetryOnConflict(
      "the thing",
      [&]() -> std::optional<Result<int>> {
        if (++calls < 2) return std::nullopt;  // lost a race
        return Err(Status(StatusCode::kAborted, "being relocated", "conflict"));
      },
      8);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "being relocated");
  EXPECT_EQ(r.error().reason(), "conflict");
  EXPECT_EQ(calls, 2);
}

// A backoff spreads the attempts out; it changes nothing else.
TEST(RetryOnConflictTest, ExplicitAttemptGivesUpAfterMaxAttempts) {
  for (auto backoff :
       {std::chrono::microseconds(0), std::chrono::microseconds(10)}) {
    int calls = 0;
    Status s = RetryOnConflict(
        "the thing",
        [&]() -> std::optional<Status> {
          ++calls;
          return std::nullopt;
        },
        3, backoff);
    EXPECT_EQ(s.code(), StatusCode::kAborted);
    EXPECT_EQ(s.message(), "the thing changed concurrently; retry");
    EXPECT_EQ(calls, 3);
  }
}

TEST(RetryOnConflictTest, ExplicitAttemptReturnsItsValue) {
  Result<std::string> r =
      RetryOnConflict("the thing", [&]() -> std::optional<Result<std::string>> {
        return std::string("done");
      });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "done");
}

}  // namespace
}  // namespace piivault
