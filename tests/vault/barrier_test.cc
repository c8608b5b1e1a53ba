// The region barrier: each kind of value opens only at the place it was
// sealed for, stored bytes keep their layouts, unknown key versions are
// refused, and no service but the barrier reaches the cipher.
#include "vault/barrier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/aead.h"

namespace piivault::vault {
namespace {

using namespace std::string_literals;

crypto::SecretBytes Key() { return crypto::Keyring::NewPrincipalKey(); }

void ExpectDataLoss(const Result<std::string>& opened) {
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), StatusCode::kDataLoss);
}

TEST(BarrierTest, AFieldOpensOnlyWhereItWasSealed) {
  auto key = Key();
  PrincipalBarrier acme(key, "acme");
  std::string sealed = acme.SealField("people", "rec_1", "email", "a@b.c");
  EXPECT_EQ(*acme.OpenField("people", "rec_1", "email", sealed), "a@b.c");
  ExpectDataLoss(acme.OpenField("people", "rec_1", "phone", sealed));
  ExpectDataLoss(acme.OpenField("people", "rec_2", "email", sealed));
  ExpectDataLoss(acme.OpenField("staff", "rec_1", "email", sealed));
  ExpectDataLoss(PrincipalBarrier(key, "other")
                     .OpenField("people", "rec_1", "email", sealed));
  auto other_key = Key();
  ExpectDataLoss(PrincipalBarrier(other_key, "acme")
                     .OpenField("people", "rec_1", "email", sealed));
}

TEST(BarrierTest, AnEnvelopeOpensOnlyWithItsMembers) {
  auto key = Key();
  PrincipalBarrier acme(key, "acme");
  std::string sealed = acme.SealEnvelope("rec_1", "members", "user-1");
  EXPECT_EQ(*acme.OpenEnvelope("rec_1", "members", sealed), "user-1");
  ExpectDataLoss(acme.OpenEnvelope("rec_1", "member", sealed));
  ExpectDataLoss(acme.OpenEnvelope("rec_2", "members", sealed));
  // Not as a version 1 envelope, which would shed the members' check.
  ExpectDataLoss(acme.OpenLegacyEnvelope("people", "rec_1", sealed));
}

TEST(BarrierTest, NoKindOfValueOpensAsAnother) {
  auto key = Key();
  PrincipalBarrier acme(key, "acme");
  const std::string state = acme.SealConsentState("ps_1", "x");
  const std::string event = acme.SealConsentEvent("slot", "x");
  const std::string field = acme.SealField("c", "r", "f", "x");
  ExpectDataLoss(acme.OpenConsentEvent("slot", state));
  ExpectDataLoss(acme.OpenField("c", "r", "f", event));
  EXPECT_FALSE(acme.OpenConsentState("ps_1", field).has_value());
  EXPECT_FALSE(acme.OpenConsentState("ps_2", state).has_value());
  ExpectDataLoss(acme.OpenConsentEvent("other slot", event));
  auto opened = acme.OpenConsentState("ps_1", state);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->state, "x");
  EXPECT_FALSE(opened->legacy);
}

TEST(BarrierTest, TokensOpenOnlyForTheirTenant) {
  crypto::TenantKeys keys;
  keys.token_key = crypto::SecretBytes(std::string(crypto::kSivKeySize, 'k'));
  std::string token = SealToken(keys, "acme", "pointer");
  EXPECT_EQ(token, SealToken(keys, "acme", "pointer"));  // deterministic
  EXPECT_EQ(*OpenToken(keys, "acme", token), "pointer");
  EXPECT_FALSE(OpenToken(keys, "other", token).has_value());
}

// Values already stored keep opening: these are the AADs they were written
// with (a change here would make every stored record unreadable).
TEST(BarrierTest, StoredLayoutsStayReadable) {
  auto key = Key();
  PrincipalBarrier acme(key, "acme");
  EXPECT_EQ(*acme.OpenField("people", "rec_1", "email",
                            crypto::AeadSeal(key, 1, "v",
                                             "f\0acme\0people\0rec_1\0email"s)),
            "v");
  EXPECT_EQ(*acme.OpenLegacyEnvelope(
                "people", "rec_1",
                crypto::AeadSeal(key, 1, "user-1",
                                 "f\0acme\0people\0rec_1\0$principal"s)),
            "user-1");
  EXPECT_EQ(*acme.OpenEnvelope("rec_1", "m",
                               crypto::AeadSeal(key, 1, "user-1",
                                                "\x12record envelope v2\x04"
                                                "acme\x05rec_1m"s)),
            "user-1");
  auto legacy_state = acme.OpenConsentState(
      "ps_1", crypto::AeadSeal(key, 1, "s", "consents\0acme\0ps_1"s));
  ASSERT_TRUE(legacy_state.has_value());
  EXPECT_TRUE(legacy_state->legacy);
  auto state = acme.OpenConsentState(
      "ps_1", crypto::AeadSeal(key, 1, "s", "consents/v2\0acme\0ps_1"s));
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->legacy);
  EXPECT_EQ(
      *acme.OpenConsentEvent("slot", crypto::AeadSeal(key, 1, "e", "slot")),
      "e");
  crypto::TenantKeys keys;
  keys.token_key = crypto::SecretBytes(std::string(crypto::kSivKeySize, 'k'));
  EXPECT_EQ(*OpenToken(keys, "acme",
                       crypto::SivSeal(keys.token_key, "p", "token\0acme"s)),
            "p");
}

// A value sealed under a key version the barrier does not know is refused,
// even when it authenticates.
TEST(BarrierTest, UnknownKeyVersionsAreRefused) {
  auto key = Key();
  PrincipalBarrier acme(key, "acme");
  std::string v2 =
      crypto::AeadSeal(key, 2, "v", "f\0acme\0people\0rec_1\0email"s);
  ASSERT_TRUE(crypto::AeadOpen(key, v2, "f\0acme\0people\0rec_1\0email"s));
  ExpectDataLoss(acme.OpenField("people", "rec_1", "email", v2));
  EXPECT_EQ(*crypto::AeadKeyVersion(acme.SealField("c", "r", "f", "x")), 1u);
}

// Services never call the cipher: outside crypto/, only the barrier
// includes it.
TEST(BarrierTest, OnlyTheBarrierIncludesTheCipher) {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(PIIVAULT_SOURCE_DIR) / "src";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path relative = fs::relative(entry.path(), src);
    const std::string name = relative.generic_string();
    if (!name.ends_with(".cc") && !name.ends_with(".h")) continue;
    if (name.starts_with("crypto/")) continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const bool includes =
        text.str().find("#include \"crypto/aead.h\"") != std::string::npos;
    EXPECT_EQ(includes, name == "vault/barrier.cc") << name;
  }
  EXPECT_GT(files, 50);
}

}  // namespace
}  // namespace piivault::vault
