#include "crypto/aead.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/encoding.h"
#include "crypto/random.h"

namespace piivault::crypto {
namespace {

constexpr std::string_view kAad = "t1|people|rec_1|email";

SecretBytes SequentialKey(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i));
  return SecretBytes(s);
}

std::string FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

void ExpectDataLoss(const Result<std::string>& r) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kDataLoss) << r.error().ToString();
}

// ---- AES-256-GCM ----

TEST(AeadTest, RoundTrip) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  for (std::string pt :
       {std::string(), std::string("x"), std::string("alice@example.com"),
        std::string(100000, 'z')}) {
    std::string sealed = AeadSeal(key, 7, pt, kAad);
    auto opened = AeadOpen(key, sealed, kAad);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    EXPECT_EQ(*opened, pt);
  }
}

TEST(AeadTest, EmptyAad) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::string sealed = AeadSeal(key, 1, "secret", "");
  EXPECT_EQ(AeadOpen(key, sealed, "").value_or("?"), "secret");
  ExpectDataLoss(AeadOpen(key, sealed, "x"));
}

TEST(AeadTest, Layout) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  const std::string pt = "0123456789abcdef0123456789abcdef";
  std::string sealed = AeadSeal(key, 0x01020304, pt, kAad);
  ASSERT_EQ(sealed.size(), pt.size() + 33);
  ASSERT_EQ(kAeadOverhead, 33u);
  EXPECT_EQ(sealed[0], '\x01');                        // version
  EXPECT_EQ(sealed.substr(1, 4), "\x01\x02\x03\x04");  // key version, BE
  // The ciphertext is not the plaintext.
  EXPECT_EQ(sealed.find(pt), std::string::npos);
}

// A value sealed by an independent implementation (Python `cryptography`,
// AESGCM(key).encrypt(nonce, pt, header + aad)) opens: pins the layout and
// that the 5-byte header is authenticated ahead of the caller's AAD.
TEST(AeadTest, OpensIndependentlySealedVector) {
  SecretBytes key = SequentialKey(32);
  std::string sealed = FromHex(
      "0100000102"                          // version 1, key version 258
      "a0a1a2a3a4a5a6a7a8a9aaab"            // nonce
      "8774154e208b67c70308f7bf6254a3b11d"  // ciphertext
      "d053d9f42d7f5f55a8863b0c8398c082");  // tag
  auto opened = AeadOpen(key, sealed, kAad);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  EXPECT_EQ(*opened, "alice@example.com");
  EXPECT_EQ(AeadKeyVersion(sealed).value_or(0), 258u);
}

TEST(AeadTest, SealsAreRandomized) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(AeadSeal(key, 1, "same", kAad));
  EXPECT_EQ(seen.size(), 100u);
  std::string a = AeadSeal(key, 1, "same", kAad);
  std::string b = AeadSeal(key, 1, "same", kAad);
  EXPECT_NE(a.substr(5, 12), b.substr(5, 12));  // nonces differ
}

TEST(AeadTest, WrongKeyFails) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  SecretBytes other = RandomSecret(kAeadKeySize);
  std::string sealed = AeadSeal(key, 1, "secret", kAad);
  ExpectDataLoss(AeadOpen(other, sealed, kAad));
  // The per-thread context recovers after a failure.
  EXPECT_EQ(AeadOpen(key, sealed, kAad).value_or("?"), "secret");
}

TEST(AeadTest, OpensAfterFailureWithSameKey) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::string sealed = AeadSeal(key, 1, "secret", kAad);
  std::string bad = sealed;
  bad[20] ^= 0x40;
  ExpectDataLoss(AeadOpen(key, bad, kAad));
  EXPECT_EQ(AeadOpen(key, sealed, kAad).value_or("?"), "secret");
  ExpectDataLoss(AeadOpen(key, sealed, "other"));
  EXPECT_EQ(AeadOpen(key, sealed, kAad).value_or("?"), "secret");
}

TEST(AeadTest, InterleavedKeys) {
  // Each call must use its own key, whatever key the previous call used.
  SecretBytes a = RandomSecret(kAeadKeySize);
  SecretBytes b = RandomSecret(kAeadKeySize);
  std::string sa = AeadSeal(a, 1, "for a", kAad);
  std::string sb = AeadSeal(b, 2, "for b", kAad);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(AeadOpen(a, sa, kAad).value_or("?"), "for a");
    ExpectDataLoss(AeadOpen(a, sb, kAad));
    EXPECT_EQ(AeadOpen(b, sb, kAad).value_or("?"), "for b");
    ExpectDataLoss(AeadOpen(b, sa, kAad));
  }
  // A key equal in value to the previous one but a different object.
  SecretBytes a2 = a.Clone();
  EXPECT_EQ(AeadOpen(a2, AeadSeal(a, 1, "x", ""), "").value_or("?"), "x");
}

TEST(AeadTest, ForkedChildDoesNotReuseNonces) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  (void)AeadSeal(key, 1, "warm up the nonce buffer", kAad);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string nonce = AeadSeal(key, 1, "child", kAad).substr(5, 12);
    ssize_t w = ::write(fds[1], nonce.data(), nonce.size());
    ::_exit(w == 12 ? 0 : 1);
  }
  ::close(fds[1]);
  std::string parent_nonce = AeadSeal(key, 1, "parent", kAad).substr(5, 12);
  std::string child_nonce(12, '\0');
  ASSERT_EQ(::read(fds[0], child_nonce.data(), 12), 12);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(parent_nonce, child_nonce);
}

TEST(AeadTest, ThreadsSealAndOpenIndependently) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::vector<std::set<std::string>> nonces(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      SecretBytes own = RandomSecret(kAeadKeySize);
      for (int i = 0; i < 500; ++i) {
        const SecretBytes& k = (i % 2) ? key : own;
        std::string pt = "value " + std::to_string(i);
        std::string sealed = AeadSeal(k, 1, pt, kAad);
        nonces[t].insert(sealed.substr(5, 12));
        EXPECT_EQ(AeadOpen(k, sealed, kAad).value_or("?"), pt);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& n : nonces) all.insert(n.begin(), n.end());
  EXPECT_EQ(all.size(), 2000u);
}

TEST(AeadTest, WrongAadFails) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::string sealed = AeadSeal(key, 1, "secret", kAad);
  ExpectDataLoss(AeadOpen(key, sealed, "t1|people|rec_2|email"));
  ExpectDataLoss(AeadOpen(key, sealed, ""));
}

TEST(AeadTest, EveryBitFlipFails) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  const std::string pt = "alice@example.com";
  const std::string sealed = AeadSeal(key, 1, pt, kAad);
  // Regions: header [0,5), nonce [5,17), ciphertext, tag (last 16).
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = sealed;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      auto r = AeadOpen(key, bad, kAad);
      ASSERT_FALSE(r.has_value()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);
    }
  }
}

TEST(AeadTest, FlipInEachRegionFails) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  const std::string sealed = AeadSeal(key, 1, "alice@example.com", kAad);
  const std::size_t tag_start = sealed.size() - 16;
  for (std::size_t i :
       {std::size_t{0}, std::size_t{3}, std::size_t{5}, std::size_t{16},
        std::size_t{17}, tag_start - 1, tag_start, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    ExpectDataLoss(AeadOpen(key, bad, kAad));
  }
}

TEST(AeadTest, TruncatedOrExtendedFails) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  const std::string sealed = AeadSeal(key, 1, "alice@example.com", kAad);
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    ExpectDataLoss(AeadOpen(key, sealed.substr(0, n), kAad));
  }
  ExpectDataLoss(AeadOpen(key, sealed + "x", kAad));
  ExpectDataLoss(AeadOpen(key, "", kAad));
}

TEST(AeadTest, ErrorMessageHasNoBytes) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::string sealed = AeadSeal(key, 1, "alice@example.com", kAad);
  sealed.back() ^= 1;
  auto r = AeadOpen(key, sealed, kAad);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message().find("alice"), std::string::npos);
  EXPECT_EQ(r.error().message().find(HexEncode(sealed.substr(5, 4))),
            std::string::npos);
  EXPECT_FALSE(r.error().message().empty());
}

TEST(AeadKeyVersionTest, ReadsHeader) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  EXPECT_EQ(AeadKeyVersion(AeadSeal(key, 0, "", "")).value_or(99), 0u);
  EXPECT_EQ(AeadKeyVersion(AeadSeal(key, 42, "v", "a")).value_or(0), 42u);
  EXPECT_EQ(AeadKeyVersion(AeadSeal(key, 0xfffffffe, "v", "a")).value_or(0),
            0xfffffffeu);
}

TEST(AeadKeyVersionTest, RejectsMalformed) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  std::string sealed = AeadSeal(key, 3, "v", "a");
  auto short_r = AeadKeyVersion(sealed.substr(0, 10));
  ASSERT_FALSE(short_r.has_value());
  EXPECT_EQ(short_r.error().code(), StatusCode::kDataLoss);
  sealed[0] = 2;
  auto bad_version = AeadKeyVersion(sealed);
  ASSERT_FALSE(bad_version.has_value());
  EXPECT_EQ(bad_version.error().code(), StatusCode::kDataLoss);
}

// ---- AES-256-SIV ----

TEST(SivTest, RoundTrip) {
  SecretBytes key = RandomSecret(kSivKeySize);
  for (std::string pt :
       {std::string(), std::string("x"), std::string("alice@example.com"),
        std::string(16, 'q'), std::string(5000, 'z')}) {
    for (std::string_view aad : {std::string_view(), kAad}) {
      std::string sealed = SivSeal(key, pt, aad);
      EXPECT_EQ(sealed.size(), 1 + 16 + pt.size());
      EXPECT_EQ(sealed[0], '\x01');
      auto opened = SivOpen(key, sealed, aad);
      ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
      EXPECT_EQ(*opened, pt);
    }
  }
}

// Expected values from an independent implementation (Python `cryptography`
// 48 with OpenSSL 4.0: AESSIV(key).encrypt(pt, [aad])), key = 00 01 .. 3f.
TEST(SivTest, KnownAnswers) {
  SecretBytes key = SequentialKey(64);
  struct {
    std::string pt, aad, expected_hex;
  } cases[] = {
      {"", "", "6ff5b8ef53fc365606cd3ea047374885"},
      {"", "tenant|col|field", "c27e7255419c710e5da0f56d91ccb355"},
      {"x", "", "88c07f717ba671023974b23b3bd47a3b33"},
      {"alice@example.com", "tenant|col|field",
       "26d43c5485548ad1a526480a97b12718c0927c4c3466995f5bb45a9f413300483b"},
      {"0123456789abcdef", "a",
       "634747b69cb8555b736c86a6b1707f8d8a5387bfb76e05b368e76870aa2fc461"},
  };
  for (const auto& c : cases) {
    std::string sealed = SivSeal(key, c.pt, c.aad);
    EXPECT_EQ(HexEncode(sealed), "01" + c.expected_hex) << c.pt;
    EXPECT_EQ(SivOpen(key, "\x01" + FromHex(c.expected_hex), c.aad)
                  .value_or("<failed>"),
              c.pt);
  }
}

TEST(SivTest, Deterministic) {
  SecretBytes key = RandomSecret(kSivKeySize);
  EXPECT_EQ(SivSeal(key, "alice@example.com", kAad),
            SivSeal(key, "alice@example.com", kAad));
  EXPECT_EQ(SivSeal(key, "", kAad), SivSeal(key, "", kAad));
  EXPECT_NE(SivSeal(key, "alice@example.com", kAad),
            SivSeal(key, "bob@example.com", kAad));
}

TEST(SivTest, DiffersWithAadAndKey) {
  SecretBytes key = RandomSecret(kSivKeySize);
  SecretBytes other = RandomSecret(kSivKeySize);
  EXPECT_NE(SivSeal(key, "alice", "a"), SivSeal(key, "alice", "b"));
  EXPECT_NE(SivSeal(key, "", "a"), SivSeal(key, "", "b"));
  EXPECT_NE(SivSeal(key, "alice", "a"), SivSeal(other, "alice", "a"));
}

TEST(SivTest, WrongKeyOrAadFails) {
  SecretBytes key = RandomSecret(kSivKeySize);
  SecretBytes other = RandomSecret(kSivKeySize);
  for (std::string pt : {std::string(), std::string("alice@example.com")}) {
    std::string sealed = SivSeal(key, pt, kAad);
    ExpectDataLoss(SivOpen(other, sealed, kAad));
    ExpectDataLoss(SivOpen(key, sealed, "t1|people|rec_2|email"));
    ExpectDataLoss(SivOpen(key, sealed, ""));
    EXPECT_EQ(SivOpen(key, sealed, kAad).value_or("<failed>"), pt);
  }
}

TEST(SivTest, EveryBitFlipFails) {
  SecretBytes key = RandomSecret(kSivKeySize);
  for (std::string pt : {std::string(), std::string("alice@example.com")}) {
    const std::string sealed = SivSeal(key, pt, kAad);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = sealed;
        bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
        auto r = SivOpen(key, bad, kAad);
        ASSERT_FALSE(r.has_value()) << "byte " << i << " bit " << bit;
        EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);
      }
    }
  }
}

TEST(SivTest, TruncatedFails) {
  SecretBytes key = RandomSecret(kSivKeySize);
  const std::string sealed = SivSeal(key, "alice@example.com", kAad);
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    ExpectDataLoss(SivOpen(key, sealed.substr(0, n), kAad));
  }
  ExpectDataLoss(SivOpen(key, sealed + "x", kAad));
}

}  // namespace
}  // namespace piivault::crypto
