#include "base/clock.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace piivault {

std::string FormatRfc3339(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<TimePoint> ParseRfc3339(std::string_view text) {
  // Accepts exactly YYYY-MM-DDTHH:MM:SSZ (what we emit).
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' ||
      text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z')
    return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    auto [p, ec] =
        std::from_chars(text.data() + pos, text.data() + pos + len, v);
    if (ec != std::errc() || p != text.data() + pos + len) return -1;
    return v;
  };
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2),
      mi = num(14, 2), s = num(17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 ||
      h < 0 || mi < 0 || s < 0)
    return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

std::optional<std::chrono::seconds> ParseIsoDuration(std::string_view text) {
  if (text.size() < 3 || text[0] != 'P') return std::nullopt;
  int64_t total = 0;
  bool in_time = false, any = false;
  size_t i = 1;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      continue;
    }
    int64_t v = 0;
    auto [p, ec] =
        std::from_chars(text.data() + i, text.data() + text.size(), v);
    if (ec != std::errc() || p == text.data() + text.size() || v < 0 ||
        v > 100000000)
      return std::nullopt;
    i = p - text.data();
    char unit = text[i++];
    if (!in_time && unit == 'D') {
      total += v * 86400;
    } else if (!in_time && unit == 'W') {
      total += v * 7 * 86400;
    } else if (in_time && unit == 'H') {
      total += v * 3600;
    } else if (in_time && unit == 'M') {
      total += v * 60;
    } else if (in_time && unit == 'S') {
      total += v;
    } else {
      return std::nullopt;
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return std::chrono::seconds(total);
}

}  // namespace piivault
