// Key-range arithmetic shared by the SQL backends: a prefix scan becomes the
// half-open range [prefix, PrefixSuccessor(prefix)) in unsigned byte order.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace piivault::storage {

// The smallest string greater than every string starting with `prefix`, or
// nullopt when there is none (empty prefix or all 0xFF bytes).
inline std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(s.back());
    if (last != 0xFF) {
      ++last;
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

}  // namespace piivault::storage
