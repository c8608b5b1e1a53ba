// A principal's key entry on its own: what each use may do with it while the
// principal is new, active, relocated or erased, and the tombstone that
// keeps a stale create from giving the principal a key where it no longer
// lives.
#include "vault/principal_keys.h"

#include <gtest/gtest.h>

#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::Peek;
using testing::Poke;
using testing::VaultHarness;
using Phase = PrincipalKeyState::Phase;

class PrincipalKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_EQ(tenant.id, "acme");
    pseudonym = directory.Pseudonym(tenant, "p1").value_or("");
    ASSERT_FALSE(pseudonym.empty());
  }

  void PlaceIn(const std::string& region) {
    auto placed =
        directory.Place(vault::RequestContext(), tenant, pseudonym, region);
    ASSERT_TRUE(placed.has_value()) << placed.error().ToString();
  }

  // Stores in `backend` a key entry for the principal in `phase`, with a
  // key unless `keyless`; returns the entry.
  std::string PutEntry(storage::Backend& backend, Phase phase,
                       bool keyless = false) {
    auto tenant_keys = h.keyring->GetTenantKeys("acme");
    EXPECT_TRUE(tenant_keys.has_value());
    PrincipalKeyState state;
    state.phase = phase;
    if (!keyless)
      state.wrapped = crypto::Keyring::WrapPrincipalKey(
          **tenant_keys, "acme", pseudonym, crypto::Keyring::NewPrincipalKey());
    std::string raw = state.Encode();
    Poke(backend, keys::PrincipalKey("acme", pseudonym), raw);
    return raw;
  }

  Result<PrincipalContext> Load(storage::Backend& backend,
                                const std::string& region, KeyUse use) {
    return principal_keys.Load(vault::RequestContext(), tenant, region, backend,
                               pseudonym, use);
  }

  VaultHarness h;
  PrincipalDirectory directory{h.router.get(), &h.vault->control, &h.clock};
  PrincipalKeys principal_keys{&h.vault->control, &directory};
  Tenant tenant;
  std::string pseudonym;
};

TEST_F(PrincipalKeysTest, WithoutAnEntryOnlyACreateGetsANewKey) {
  PlaceIn("eu");
  for (KeyUse use : {KeyUse::kRead, KeyUse::kWrite}) {
    auto ctx = Load(*h.eu_backend, "eu", use);
    ASSERT_FALSE(ctx.has_value());
    EXPECT_EQ(ctx.error().code(), StatusCode::kNotFound);
  }
  auto created = Load(*h.eu_backend, "eu", KeyUse::kCreate);
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  EXPECT_TRUE(created->is_new);
  EXPECT_TRUE(created->replaces.empty());
  EXPECT_EQ(created->store, h.eu_backend);
  // The entry to write holds the new key, wrapped.
  auto state = PrincipalKeyState::Decode(created->raw);
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->active());
  auto unwrapped = crypto::Keyring::UnwrapPrincipalKey(
      *created->keys, "acme", pseudonym, state->wrapped);
  ASSERT_TRUE(unwrapped.has_value());
  EXPECT_EQ(unwrapped->view(), created->key.view());
}

TEST_F(PrincipalKeysTest, AnActiveEntryServesEveryUse) {
  PlaceIn("eu");
  std::string raw = PutEntry(*h.eu_backend, Phase::kActive);
  for (KeyUse use : {KeyUse::kRead, KeyUse::kWrite, KeyUse::kCreate}) {
    auto ctx = Load(*h.eu_backend, "eu", use);
    ASSERT_TRUE(ctx.has_value()) << ctx.error().ToString();
    EXPECT_FALSE(ctx->is_new);
    EXPECT_EQ(ctx->raw, raw);  // what a write is guarded by
  }
}

// A relocation away left a tombstone in eu and the directory names us: a
// create that read the directory before the switch must not give the
// principal a key in eu again.
TEST_F(PrincipalKeysTest, ATombstoneBlocksAStaleCreate) {
  PlaceIn("us");
  std::string tombstone = PrincipalKeyState::Tombstone().Encode();
  Poke(*h.eu_backend, keys::PrincipalKey("acme", pseudonym), tombstone);
  auto stale = Load(*h.eu_backend, "eu", KeyUse::kCreate);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), StatusCode::kAborted);
  // Nor is the tombstone anyone's key: not to read, not to write.
  auto read = Load(*h.eu_backend, "eu", KeyUse::kRead);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code(), StatusCode::kNotFound);
  auto write = Load(*h.eu_backend, "eu", KeyUse::kWrite);
  ASSERT_FALSE(write.has_value());
  EXPECT_EQ(write.error().message(), BeingErased().message());
  EXPECT_EQ(Peek(*h.eu_backend, keys::PrincipalKey("acme", pseudonym)),
            tombstone);
}

// Where the directory places the principal now (its id used again after an
// erasure, or a relocation back), a create replaces the tombstone, guarded
// by it.
TEST_F(PrincipalKeysTest, ACreateWhereTheDirectoryPlacesItReplacesATombstone) {
  PlaceIn("eu");
  std::string tombstone = PrincipalKeyState::Tombstone().Encode();
  Poke(*h.eu_backend, keys::PrincipalKey("acme", pseudonym), tombstone);
  auto ctx = Load(*h.eu_backend, "eu", KeyUse::kCreate);
  ASSERT_TRUE(ctx.has_value()) << ctx.error().ToString();
  EXPECT_TRUE(ctx->is_new);
  EXPECT_EQ(ctx->replaces, tombstone);
}

TEST_F(PrincipalKeysTest, AnErasingEntryIsReadableButNeverWritable) {
  PlaceIn("eu");
  PutEntry(*h.eu_backend, Phase::kErasing);
  EXPECT_TRUE(Load(*h.eu_backend, "eu", KeyUse::kRead).has_value());
  for (KeyUse use : {KeyUse::kWrite, KeyUse::kCreate}) {
    auto ctx = Load(*h.eu_backend, "eu", use);
    ASSERT_FALSE(ctx.has_value());
    EXPECT_EQ(ctx.error().message(), BeingErased().message());
  }
}

// Mid-relocation from eu to us: both hold a copy; only the one the
// directory names home reads, and neither is written.
TEST_F(PrincipalKeysTest, MidRelocationOnlyTheHomeCopyReads) {
  PlaceIn("eu");
  PutEntry(*h.eu_backend, Phase::kOutgoing);
  PutEntry(*h.us_backend, Phase::kIncoming);
  EXPECT_TRUE(Load(*h.eu_backend, "eu", KeyUse::kRead).has_value());
  auto other = Load(*h.us_backend, "us", KeyUse::kRead);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), StatusCode::kNotFound);
  for (auto [backend, region] :
       {std::pair{h.eu_backend, "eu"}, std::pair{h.us_backend, "us"}}) {
    for (KeyUse use : {KeyUse::kWrite, KeyUse::kCreate}) {
      auto ctx = Load(*backend, region, use);
      ASSERT_FALSE(ctx.has_value()) << region;
      EXPECT_EQ(ctx.error().code(), StatusCode::kAborted) << region;
      EXPECT_EQ(ctx.error().reason(), "conflict") << region;
    }
  }
}

TEST_F(PrincipalKeysTest, WithoutAConsentPurposeTheConsentStateIsNotOpened) {
  PlaceIn("eu");
  PutEntry(*h.eu_backend, Phase::kActive);
  auto ctx = Load(*h.eu_backend, "eu", KeyUse::kRead);
  ASSERT_TRUE(ctx.has_value());
  ctx->consents = "not a sealed consent state";
  EXPECT_TRUE(PrincipalKeys::CheckConsent(tenant, pseudonym, *ctx, "").ok());
  Status marketing =
      PrincipalKeys::CheckConsent(tenant, pseudonym, *ctx, "marketing");
  EXPECT_FALSE(marketing.ok());
  ctx->consents.clear();  // none recorded
  marketing = PrincipalKeys::CheckConsent(tenant, pseudonym, *ctx, "marketing");
  EXPECT_EQ(marketing.reason(), "consent_required");
}

}  // namespace
}  // namespace piivault::vault
