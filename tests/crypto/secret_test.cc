#include "crypto/secret.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <utility>

namespace piivault::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

TEST(SecretBytesTest, Constructors) {
  SecretBytes empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);

  SecretBytes zeros(4);
  EXPECT_EQ(zeros.view(), std::string(4, '\0'));

  SecretBytes bytes(std::string_view("key\0material", 12));
  EXPECT_EQ(bytes.size(), 12u);
  EXPECT_EQ(bytes.view(), std::string_view("key\0material", 12));
  EXPECT_EQ(bytes.data()[3], 0);
}

// Short (in-object) and long (heap) buffers behave the same.
class SecretBytesMoveTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(SecretBytesMoveTest, MoveConstructLeavesSourceEmpty) {
  const std::string value(GetParam(), 's');
  SecretBytes a(value);
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.view(), value);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.size(), 0u);
}

TEST_P(SecretBytesMoveTest, MoveAssignLeavesSourceEmpty) {
  const std::string value(GetParam(), 's');
  SecretBytes a(value);
  SecretBytes b(std::string_view("previous"));
  b = std::move(a);
  EXPECT_EQ(b.view(), value);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
}

INSTANTIATE_TEST_SUITE_P(Sizes, SecretBytesMoveTest,
                         ::testing::Values(1, 15, 16, 32, 64, 1000));

TEST(SecretBytesTest, SelfMoveAssignKeepsValue) {
  SecretBytes a(std::string_view("value"));
  SecretBytes& alias = a;
  a = std::move(alias);
  EXPECT_EQ(a.view(), "value");
}

TEST(SecretBytesTest, CloneIsEqualAndIndependent) {
  SecretBytes a(std::string_view("0123456789abcdef0123456789abcdef"));
  SecretBytes b = a.Clone();
  EXPECT_EQ(a.view(), b.view());
  EXPECT_NE(a.data(), b.data());
  b.data()[0] = 'X';
  EXPECT_EQ(a.view()[0], '0');
}

TEST(SecretBytesTest, MutableData) {
  SecretBytes a(3);
  a.data()[0] = 'a';
  a.data()[1] = 'b';
  a.data()[2] = 'c';
  EXPECT_EQ(a.view(), "abc");
}

}  // namespace
}  // namespace piivault::crypto
