// Optimistic concurrency: one helper for every read-modify-write that is
// guarded by compare-and-set.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace piivault {

namespace internal {

// What an attempt returning T answers, and whether it says itself when it
// lost a race (std::optional).
template <typename T>
struct AttemptOf {
  using Answer = T;
  static constexpr bool kExplicit = false;
};
template <typename T>
struct AttemptOf<std::optional<T>> {
  using Answer = T;
  static constexpr bool kExplicit = true;
};

// Sleeps a random time below `backoff` << min(attempt, 6), so that nodes
// that collided do not collide again in step.
void PauseBeforeRetry(std::chrono::microseconds backoff, int attempt);

}  // namespace internal

// A write that changed nothing because one of its compare-and-set
// conditions no longer held: a concurrent writer came first.
inline bool LostRace(const Status& s) {
  return s.code() == StatusCode::kAborted;
}
template <typename T>
bool LostRace(const Result<T>& r) {
  return !r && r.error().code() == StatusCode::kAborted;
}

// Runs `attempt` (one read, decide, compare-and-set write) until it no
// longer loses a race to a concurrent writer, at most `max_attempts` times;
// then fails with kAborted "<what> changed concurrently; retry".
//
// `attempt` returns either
//  - R (Status or Result<T>): every kAborted means it lost a race and
//    changed nothing, so it runs again; or
//  - std::optional<R>: std::nullopt means it lost a race (or must re-read
//    for another reason) and runs again; any R, kAborted ones too, is the
//    answer. Use this where kAborted is also a final answer (e.g. "the
//    principal is being relocated", which re-reading does not change).
// A non-zero `backoff` pauses a random time between attempts (growing
// with the attempt, up to 64x), for writers that contend all the time.
template <typename Fn>
auto RetryOnConflict(std::string_view what, Fn attempt, int max_attempts = 5,
                     std::chrono::microseconds backoff = {}) {
  using Attempt = internal::AttemptOf<decltype(attempt())>;
  using R = typename Attempt::Answer;
  for (int i = 0; i < max_attempts; ++i) {
    if (i > 0 && backoff.count() > 0)
      internal::PauseBeforeRetry(backoff, i - 1);
    if constexpr (Attempt::kExplicit) {
      std::optional<R> result = attempt();
      if (result) return R(*std::move(result));
    } else {
      R result = attempt();
      if (!LostRace(result)) return result;
    }
  }
  return R(Err(Aborted(std::string(what) + " changed concurrently; retry")));
}

}  // namespace piivault
