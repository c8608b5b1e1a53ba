#include "api/metrics.h"

#include <cstdio>

namespace piivault::api {

Metrics::Metrics(std::vector<std::string> routes)
    : routes_(std::move(routes)), counters_(routes_.size()) {}

void Metrics::Record(std::size_t route, int status,
                     std::chrono::nanoseconds latency) {
  if (route >= counters_.size()) return;
  auto& c = counters_[route];
  int cls = status / 100;
  c.by_class[(cls >= 1 && cls <= 5) ? cls - 1 : 5].fetch_add(
      1, std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(latency).count();
  std::size_t b = 0;
  while (b < kBucketsSeconds.size() && seconds > kBucketsSeconds[b]) ++b;
  c.buckets[b].fetch_add(1, std::memory_order_relaxed);
  c.latency_sum_ns.fetch_add(static_cast<uint64_t>(latency.count()),
                             std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  char line[256];
  out +=
      "# HELP piivault_http_requests_total HTTP requests by route and status "
      "class.\n# TYPE piivault_http_requests_total counter\n";
  static constexpr const char* kClass[] = {"1xx", "2xx", "3xx",
                                           "4xx", "5xx", "other"};
  for (std::size_t r = 0; r < routes_.size(); ++r)
    for (std::size_t k = 0; k < 6; ++k) {
      uint64_t n = counters_[r].by_class[k].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::snprintf(
          line, sizeof line,
          "piivault_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
          routes_[r].c_str(), kClass[k], static_cast<unsigned long long>(n));
      out += line;
    }
  out +=
      "# HELP piivault_http_request_duration_seconds Request latency.\n"
      "# TYPE piivault_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    auto& c = counters_[r];
    uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBucketsSeconds.size(); ++b) {
      cumulative += c.buckets[b].load(std::memory_order_relaxed);
      if (b < kBucketsSeconds.size())
        std::snprintf(
            line, sizeof line,
            "piivault_http_request_duration_seconds_bucket{route=\"%s\","
            "le=\"%g\"} %llu\n",
            routes_[r].c_str(), kBucketsSeconds[b],
            static_cast<unsigned long long>(cumulative));
      else
        std::snprintf(
            line, sizeof line,
            "piivault_http_request_duration_seconds_bucket{route=\"%s\","
            "le=\"+Inf\"} %llu\n",
            routes_[r].c_str(), static_cast<unsigned long long>(cumulative));
      out += line;
    }
    std::snprintf(
        line, sizeof line,
        "piivault_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
        "piivault_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
        routes_[r].c_str(), static_cast<double>(c.latency_sum_ns.load()) / 1e9,
        routes_[r].c_str(), static_cast<unsigned long long>(cumulative));
    out += line;
  }
  return out;
}

}  // namespace piivault::api
