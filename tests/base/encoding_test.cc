#include "base/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace piivault {
namespace {

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

// RFC 4648 §10 test vectors.
struct Vector {
  const char* raw;
  const char* base16;
  const char* base64;
};
constexpr Vector kRfc4648[] = {
    {"", "", ""},
    {"f", "66", "Zg=="},
    {"fo", "666f", "Zm8="},
    {"foo", "666f6f", "Zm9v"},
    {"foob", "666f6f62", "Zm9vYg=="},
    {"fooba", "666f6f6261", "Zm9vYmE="},
    {"foobar", "666f6f626172", "Zm9vYmFy"},
};

TEST(HexTest, Rfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(HexEncode(v.raw), v.base16) << v.raw;
    EXPECT_EQ(HexDecode(v.base16), std::string(v.raw)) << v.raw;
  }
}

TEST(HexTest, EncodesLowercase) {
  EXPECT_EQ(HexEncode(std::string("\x00\xab\xff\x10", 4)), "00abff10");
}

TEST(HexTest, RoundTripsAllBytes) {
  const std::string all = AllBytes();
  const std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(HexDecode(hex), all);
}

TEST(HexTest, DecodeAcceptsUppercase) {
  EXPECT_EQ(HexDecode("ABff"), std::string("\xab\xff"));
}

TEST(HexTest, DecodeRejectsInvalid) {
  EXPECT_EQ(HexDecode("0"), std::nullopt);    // odd length
  EXPECT_EQ(HexDecode("abc"), std::nullopt);  // odd length
  EXPECT_EQ(HexDecode("0g"), std::nullopt);
  EXPECT_EQ(HexDecode("g0"), std::nullopt);
  EXPECT_EQ(HexDecode(" 0"), std::nullopt);
  EXPECT_EQ(HexDecode("0x00"), std::nullopt);
  EXPECT_EQ(HexDecode(std::string("0\0", 2)), std::nullopt);
  EXPECT_EQ(HexDecode(""), std::string());
}

TEST(Base64Test, Rfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(Base64Encode(v.raw), v.base64) << v.raw;
    EXPECT_EQ(Base64Decode(v.base64), std::string(v.raw)) << v.raw;
  }
}

TEST(Base64Test, RoundTripsAllLengths) {
  const std::string all = AllBytes();
  for (std::size_t n = 0; n <= all.size(); ++n) {
    std::string in = all.substr(all.size() - n);
    std::string enc = Base64Encode(in);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(Base64Decode(enc), in) << n;
  }
}

TEST(Base64Test, UsesStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(Base64Decode("+/+/"), std::string("\xfb\xff\xbf"));
}

TEST(Base64Test, DecodeRejectsInvalid) {
  EXPECT_EQ(Base64Decode("Zg"), std::nullopt);    // missing padding
  EXPECT_EQ(Base64Decode("Zg="), std::nullopt);   // wrong length
  EXPECT_EQ(Base64Decode("Z==="), std::nullopt);  // too much padding
  EXPECT_EQ(Base64Decode("===="), std::nullopt);
  EXPECT_EQ(Base64Decode("Zg==Zg=="), std::nullopt);  // padding in middle
  EXPECT_EQ(Base64Decode("Z=g="), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9v\n"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm 9"), std::nullopt);
  EXPECT_EQ(Base64Decode("-_-_"), std::nullopt);  // url alphabet
  EXPECT_EQ(Base64Decode(std::string("Zm9\0", 4)), std::nullopt);
  EXPECT_EQ(Base64Decode("Zh=="), std::nullopt);  // non-zero trailing bits
  EXPECT_EQ(Base64Decode("Zm9="), std::nullopt);
}

TEST(Base64UrlTest, EncodesUnpaddedUrlAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode(""), "");
}

TEST(Base64UrlTest, RoundTripsAllLengths) {
  const std::string all = AllBytes();
  for (std::size_t n = 0; n <= all.size(); ++n) {
    std::string in = all.substr(0, n);
    std::string enc = Base64UrlEncode(in);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(enc), in) << n;
  }
}

TEST(Base64UrlTest, DecodeRejectsInvalid) {
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);  // padding not allowed
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);     // impossible length
  EXPECT_EQ(Base64UrlDecode("Zm9vY"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("+/+/"), std::nullopt);  // std alphabet
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);    // non-zero trailing bits
  EXPECT_EQ(Base64UrlDecode("Zm9 "), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::string("fo"));
}

}  // namespace
}  // namespace piivault
