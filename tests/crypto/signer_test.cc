#include "crypto/signer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "base/encoding.h"
#include "crypto/hash.h"

namespace piivault::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes) ADD_FAILURE() << "bad test hex " << hex;
  return bytes.value_or("");
}

Ed25519Key KeyFromSeedHex(std::string_view hex) {
  Result<Ed25519Key> key = Ed25519Key::FromSeed(SecretBytes(Unhex(hex)));
  if (!key) {
    ADD_FAILURE() << key.error().ToString();
    return Ed25519Key::Generate();
  }
  return *std::move(key);
}

// RFC 8032 §7.1, "Test Vectors for Ed25519", TEST 1 to TEST 3 (SECRET KEY is
// the 32-byte seed). Cross-checked against the copies in libtomcrypt
// tests/ed25519_test.c and pyca/cryptography tests/test_utils.py.
struct Rfc8032Vector {
  const char* secret_key;
  const char* public_key;
  const char* message;
  const char* signature;
};

const Rfc8032Vector kRfc8032Vectors[] = {
    {// TEST 1
     "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {// TEST 2
     "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {// TEST 3
     "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Rfc8032Vector& v : kRfc8032Vectors) {
    SCOPED_TRACE(v.public_key);
    Ed25519Key key = KeyFromSeedHex(v.secret_key);
    EXPECT_EQ(HexEncode(key.public_key()), v.public_key);
    const std::string message = Unhex(v.message);
    EXPECT_EQ(HexEncode(key.Sign(message)), v.signature);
    EXPECT_TRUE(
        Ed25519Verify(Unhex(v.public_key), message, Unhex(v.signature)));
  }
}

TEST(Ed25519Test, IsMoveOnly) {
  static_assert(!std::is_copy_constructible_v<Ed25519Key>);
  static_assert(!std::is_copy_assignable_v<Ed25519Key>);
  static_assert(std::is_nothrow_move_constructible_v<Ed25519Key>);
  Ed25519Key key = Ed25519Key::Generate();
  const std::string public_key = key.public_key();
  Ed25519Key moved = std::move(key);
  EXPECT_EQ(moved.public_key(), public_key);
  EXPECT_TRUE(Ed25519Verify(public_key, "m", moved.Sign("m")));
}

TEST(Ed25519Test, SignVerifyRoundTrip) {
  Ed25519Key key = Ed25519Key::Generate();
  EXPECT_EQ(key.seed().size(), kEd25519SeedSize);
  EXPECT_EQ(key.public_key().size(), kEd25519PublicKeySize);
  for (const std::string& message :
       {std::string(), std::string("tree head"), std::string(1, '\0'),
        std::string(10000, 'x')}) {
    const std::string signature = key.Sign(message);
    EXPECT_EQ(signature.size(), kEd25519SignatureSize);
    EXPECT_TRUE(Ed25519Verify(key.public_key(), message, signature));
    EXPECT_EQ(key.Sign(message), signature) << "Ed25519 is deterministic";
  }
}

TEST(Ed25519Test, AnyFlippedBitIsRejected) {
  Ed25519Key key = Ed25519Key::Generate();
  const std::string message = "log 7, size 1234, root 5dc9da79";
  const std::string signature = key.Sign(message);
  const std::string& public_key = key.public_key();
  ASSERT_TRUE(Ed25519Verify(public_key, message, signature));

  auto flipped = [](std::string s, std::size_t bit) {
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
    return s;
  };
  for (std::size_t bit = 0; bit < 8 * message.size(); ++bit) {
    EXPECT_FALSE(Ed25519Verify(public_key, flipped(message, bit), signature))
        << "message bit " << bit;
  }
  for (std::size_t bit = 0; bit < 8 * signature.size(); ++bit) {
    EXPECT_FALSE(Ed25519Verify(public_key, message, flipped(signature, bit)))
        << "signature bit " << bit;
  }
  for (std::size_t bit = 0; bit < 8 * public_key.size(); ++bit) {
    EXPECT_FALSE(Ed25519Verify(flipped(public_key, bit), message, signature))
        << "public key bit " << bit;
  }
}

TEST(Ed25519Test, OtherKeysSignatureIsRejected) {
  Ed25519Key a = Ed25519Key::Generate();
  Ed25519Key b = Ed25519Key::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_FALSE(Ed25519Verify(a.public_key(), "m", b.Sign("m")));
  EXPECT_FALSE(Ed25519Verify(a.public_key(), "", b.Sign("")));
}

TEST(Ed25519Test, WrongSizesAreRejected) {
  Ed25519Key key = Ed25519Key::Generate();
  const std::string signature = key.Sign("m");
  const std::string& public_key = key.public_key();
  for (const std::string& bad_key :
       {std::string(), public_key.substr(1), public_key + '\0',
        public_key + public_key}) {
    EXPECT_FALSE(Ed25519Verify(bad_key, "m", signature)) << bad_key.size();
  }
  for (const std::string& bad_signature :
       {std::string(), signature.substr(1), signature + '\0',
        signature + signature}) {
    EXPECT_FALSE(Ed25519Verify(public_key, "m", bad_signature))
        << bad_signature.size();
  }
  for (std::size_t size : {0, 1, 31, 33, 64}) {
    Result<Ed25519Key> bad = Ed25519Key::FromSeed(SecretBytes(size));
    ASSERT_FALSE(bad.has_value()) << size;
    EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Ed25519Test, FromSeedReproducesTheKey) {
  Ed25519Key key = Ed25519Key::Generate();
  Result<Ed25519Key> again = Ed25519Key::FromSeed(key.seed());
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(again->public_key(), key.public_key());
  EXPECT_EQ(again->seed().view(), key.seed().view());
  EXPECT_EQ(again->Sign("m"), key.Sign("m"));
  EXPECT_EQ(again->key_id(), key.key_id());
}

TEST(Ed25519Test, GenerateGivesFreshKeys) {
  Ed25519Key a = Ed25519Key::Generate();
  Ed25519Key b = Ed25519Key::Generate();
  EXPECT_NE(a.seed().view(), b.seed().view());
  EXPECT_NE(a.key_id(), b.key_id());
}

TEST(Ed25519Test, KeyIdIsTheHexOfEightBytesOfSha256) {
  Ed25519Key key = KeyFromSeedHex(kRfc8032Vectors[0].secret_key);
  const std::string id = key.key_id();
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id, HexEncode(Sha256(key.public_key()).substr(0, 8)));
}

}  // namespace
}  // namespace piivault::crypto
