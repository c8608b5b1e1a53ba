#include "crypto/random.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <unordered_set>

namespace piivault::crypto {
namespace {

TEST(RandomBytesTest, SizesAndVariety) {
  EXPECT_EQ(RandomBytes(0), "");
  EXPECT_EQ(RandomBytes(1).size(), 1u);
  std::string a = RandomBytes(32);
  std::string b = RandomBytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  // 4096 random bytes take many distinct values.
  std::string big = RandomBytes(4096);
  std::set<char> distinct(big.begin(), big.end());
  EXPECT_GT(distinct.size(), 200u);
}

TEST(RandomSecretTest, SizesAndVariety) {
  EXPECT_TRUE(RandomSecret(0).empty());
  SecretBytes a = RandomSecret(32);
  SecretBytes b = RandomSecret(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a.view(), b.view());
  EXPECT_NE(a.view(), std::string(32, '\0'));
}

bool IsBase32Lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

TEST(RandomIdTest, Format) {
  for (std::string_view prefix : {"rec_", "", "tenant-"}) {
    std::string id = RandomId(prefix);
    ASSERT_EQ(id.size(), prefix.size() + 26) << id;
    EXPECT_EQ(id.substr(0, prefix.size()), prefix);
    for (char c : id.substr(prefix.size())) {
      EXPECT_TRUE(IsBase32Lower(c)) << id;
    }
    // 128 bits in 26 characters: the last one carries 3 bits and two zero
    // bits, so it is one of a, e, i, m, q, u, y, 4 (indices 0, 4, .., 28).
    char last = id.back();
    EXPECT_NE(std::string_view("aeimquy4").find(last), std::string_view::npos)
        << id;
  }
}

TEST(RandomIdTest, UniqueAndWellDistributed) {
  constexpr int kCount = 10000;
  std::unordered_set<std::string> ids;
  std::set<char> first_chars;
  std::set<char> all_chars;
  for (int i = 0; i < kCount; ++i) {
    std::string id = RandomId("rec_");
    first_chars.insert(id[4]);
    all_chars.insert(id.begin() + 4, id.end());
    ids.insert(std::move(id));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(first_chars.size(), 32u);
  EXPECT_EQ(all_chars.size(), 32u);
}

}  // namespace
}  // namespace piivault::crypto

namespace piivault::crypto {
namespace {

TEST(IsRandomIdTest, AcceptsWhatRandomIdGivesAndNothingElse) {
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(IsRandomId("rec_", RandomId("rec_")));
  const std::string id = RandomId("rec_");
  EXPECT_FALSE(IsRandomId("exp_", id));
  EXPECT_FALSE(IsRandomId("rec_", id.substr(0, id.size() - 1)));
  EXPECT_FALSE(IsRandomId("rec_", id + "a"));
  std::string upper = id;
  upper[5] = 'A';
  EXPECT_FALSE(IsRandomId("rec_", upper));
  std::string padded = id;
  padded.back() = 'b';  // a padding bit set
  EXPECT_FALSE(IsRandomId("rec_", padded));
}

}  // namespace
}  // namespace piivault::crypto
