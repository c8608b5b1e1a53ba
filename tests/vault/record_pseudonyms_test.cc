#include "vault/record_pseudonyms.h"

#include <gtest/gtest.h>

#include <string>

namespace piivault::vault {
namespace {

TEST(RecordPseudonymsTest, RemembersPerTenantAndRecord) {
  RecordPseudonyms hints;
  EXPECT_EQ(hints.Find("t1", "rec_1"), std::nullopt);
  hints.Remember("t1", "rec_1", "ps_a");
  hints.Remember("t2", "rec_1", "ps_b");
  EXPECT_EQ(hints.Find("t1", "rec_1"), "ps_a");
  EXPECT_EQ(hints.Find("t2", "rec_1"), "ps_b");
  hints.Remember("t1", "rec_1", "ps_c");
  EXPECT_EQ(hints.Find("t1", "rec_1"), "ps_c");
}

TEST(RecordPseudonymsTest, HoldsNoMoreThanItsBound) {
  RecordPseudonyms hints;
  const std::size_t n = RecordPseudonyms::kMaxEntries + 5000;
  for (std::size_t i = 0; i < n; ++i)
    hints.Remember("t", "rec_" + std::to_string(i), "ps");
  std::size_t held = 0;
  for (std::size_t i = 0; i < n; ++i)
    held += hints.Find("t", "rec_" + std::to_string(i)).has_value();
  EXPECT_LE(held, RecordPseudonyms::kMaxEntries);
  EXPECT_GT(held, RecordPseudonyms::kMaxEntries / 2);
  EXPECT_TRUE(hints.Find("t", "rec_" + std::to_string(n - 1)).has_value());
}

}  // namespace
}  // namespace piivault::vault
