// An enum stored or sent by name: one table of its names gives both
// directions, so the two can never disagree. A name in no row reads back as
// nullopt (a corrupt or newer document), never as some default.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace piivault {

template <typename Enum, std::size_t N>
class EnumNames {
 public:
  using Row = std::pair<Enum, std::string_view>;
  constexpr explicit EnumNames(std::array<Row, N> rows) : rows_(rows) {}

  constexpr std::string_view Name(Enum value) const {
    for (const auto& [v, name] : rows_)
      if (v == value) return name;
    return {};
  }
  constexpr std::optional<Enum> Parse(std::string_view name) const {
    for (const auto& [v, n] : rows_)
      if (n == name) return v;
    return std::nullopt;
  }

 private:
  std::array<Row, N> rows_;
};

}  // namespace piivault
