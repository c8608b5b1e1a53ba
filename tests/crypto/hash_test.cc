#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "base/encoding.h"

namespace piivault::crypto {
namespace {

std::string Hex(std::string_view s) { return HexEncode(s); }

SecretBytes Key(std::string_view bytes) { return SecretBytes(bytes); }

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // FIPS 180-2 two-block message.
  EXPECT_EQ(
      Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256("abc").size(), kSha256Size);
}

// RFC 4231 test cases.
TEST(HmacSha256Test, Rfc4231Case1) {
  EXPECT_EQ(Hex(HmacSha256(Key(std::string(20, '\x0b')), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256Test, Rfc4231Case2) {
  EXPECT_EQ(Hex(HmacSha256(Key("Jefe"), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, Rfc4231Case3) {
  EXPECT_EQ(
      Hex(HmacSha256(Key(std::string(20, '\xaa')), std::string(50, '\xdd'))),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST(HmacSha256Test, Rfc4231Case6) {
  EXPECT_EQ(
      Hex(HmacSha256(Key(std::string(131, '\xaa')),
                     "Test Using Larger Than Block-Size Key - Hash Key First")),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, Rfc4231Case7) {
  EXPECT_EQ(
      Hex(HmacSha256(
          Key(std::string(131, '\xaa')),
          "This is a test using a larger than block-size key and a larger "
          "than block-size data. The key needs to be hashed before being "
          "used by the HMAC algorithm.")),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256Test, ReKeysBetweenCalls) {
  // The per-thread context must not carry a key over from an earlier call.
  std::string a = HmacSha256(Key("key-a"), "data");
  std::string b = HmacSha256(Key("key-b"), "data");
  EXPECT_NE(a, b);
  EXPECT_EQ(HmacSha256(Key("key-a"), "data"), a);
  EXPECT_EQ(HmacSha256(Key(""), "data"), HmacSha256(Key(""), "data"));
  EXPECT_NE(HmacSha256(Key(""), "data"), a);
}

// RFC 5869 test cases 1 and 3.
TEST(HkdfSha256Test, Rfc5869Case1) {
  SecretBytes okm = HkdfSha256(Key(std::string(22, '\x0b')),
                               *HexDecode("000102030405060708090a0b0c"),
                               *HexDecode("f0f1f2f3f4f5f6f7f8f9"), 42);
  EXPECT_EQ(Hex(okm.view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(HkdfSha256Test, Rfc5869Case3EmptySaltAndInfo) {
  SecretBytes okm = HkdfSha256(Key(std::string(22, '\x0b')), "", "", 42);
  EXPECT_EQ(Hex(okm.view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfSha256Test, InfoSeparatesKeys) {
  SecretBytes ikm(std::string(32, 'k'));
  SecretBytes a = HkdfSha256(ikm, "salt", "control", 32);
  SecretBytes b = HkdfSha256(ikm, "salt", "index", 32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a.view(), b.view());
  EXPECT_EQ(HkdfSha256(ikm, "salt", "control", 32).view(), a.view());
  EXPECT_EQ(HkdfSha256(ikm, "salt", "token", 64).size(), 64u);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndSize) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("\0x", 2), std::string("\0x", 2)));
  EXPECT_FALSE(
      ConstantTimeEquals(std::string("\0x", 2), std::string("\0y", 2)));
}

}  // namespace
}  // namespace piivault::crypto
