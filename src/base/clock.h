// Time as a seam: services take a Clock so tests can pin or advance it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace piivault {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// RFC 3339 UTC with second precision: "2026-11-29T10:00:00Z".
std::string FormatRfc3339(TimePoint t);
std::optional<TimePoint> ParseRfc3339(std::string_view text);

// Microseconds since the Unix epoch, the stored form of times.
inline int64_t ToUnixMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             t.time_since_epoch())
      .count();
}
inline TimePoint FromUnixMicros(int64_t us) {
  return TimePoint(std::chrono::microseconds(us));
}

// ISO 8601 durations of days/hours/minutes/seconds ("P30D", "PT12H",
// "P1DT2H30M", "PT0.5S" is not supported); nullopt when malformed.
std::optional<std::chrono::seconds> ParseIsoDuration(std::string_view text);

}  // namespace piivault
