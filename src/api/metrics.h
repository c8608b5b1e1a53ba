// Request counters and a latency histogram, rendered as Prometheus text.
// Thread safety: Record() and Render() are thread-safe (lock-free counters).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace piivault::api {

class Metrics {
 public:
  // `route` must be one of the names given to the constructor (routes are
  // templates such as "records.get", never raw paths, which may carry a
  // principal id).
  explicit Metrics(std::vector<std::string> routes);

  void Record(std::size_t route_index, int status,
              std::chrono::nanoseconds latency);
  std::string Render() const;

  static constexpr std::array<double, 12> kBucketsSeconds{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
      0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

 private:
  struct RouteCounters {
    std::array<std::atomic<uint64_t>, 6> by_class{};  // 1xx..5xx, other
    std::array<std::atomic<uint64_t>, kBucketsSeconds.size() + 1> buckets{};
    std::atomic<uint64_t> latency_sum_ns{0};
  };
  std::vector<std::string> routes_;
  std::vector<RouteCounters> counters_;
};

}  // namespace piivault::api
