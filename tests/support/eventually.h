// Eventually(done): polls `done` every millisecond until it holds or ten
// seconds have passed (then false), for a test waiting on another thread.
#pragma once

#include <chrono>
#include <thread>

namespace piivault::testing {

template <typename F>
bool Eventually(F done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace piivault::testing
