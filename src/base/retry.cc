#include "base/retry.h"

#include <algorithm>
#include <random>
#include <thread>

namespace piivault::internal {

void PauseBeforeRetry(std::chrono::microseconds backoff, int attempt) {
  thread_local std::minstd_rand jitter{std::random_device{}()};
  const auto bound = static_cast<uint64_t>(backoff.count())
                     << std::min(attempt, 6);
  std::this_thread::sleep_for(std::chrono::microseconds(jitter() % bound));
}

}  // namespace piivault::internal
