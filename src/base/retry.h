// Optimistic concurrency: one helper for every read-modify-write that is
// guarded by compare-and-set.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "base/status.h"

namespace piivault {

// Calls `attempt` again while it fails with kAborted (it lost a
// compare-and-set to a concurrent writer and changed nothing), at most
// `max_attempts` times; then kAborted "<what> changed concurrently; retry".
template <typename Fn>
auto RetryOnConflict(std::string_view what, Fn attempt, int max_attempts = 5)
    -> decltype(attempt()) {
  for (int i = 0; i < max_attempts; ++i) {
    auto result = attempt();
    if constexpr (std::is_same_v<decltype(result), Status>) {
      if (result.code() != StatusCode::kAborted) return result;
    } else {
      if (result || result.error().code() != StatusCode::kAborted)
        return result;
    }
  }
  Status lost = Aborted(std::string(what) + " changed concurrently; retry");
  if constexpr (std::is_same_v<decltype(attempt()), Status>)
    return lost;
  else
    return Err(std::move(lost));
}

}  // namespace piivault
