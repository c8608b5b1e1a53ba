#include "vault/identities.h"

#include <gtest/gtest.h>

#include <set>

#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::Dump;
using testing::VaultHarness;

TEST(IdentityServiceTest, KeyAuthenticatesUntilDeactivated) {
  VaultHarness h;
  auto& ids = h.vault->identities;
  auto issued =
      ids.Create(vault::RequestContext(), "ops", Role::kOperatorAdmin, "");
  ASSERT_TRUE(issued.has_value()) << issued.error().ToString();
  EXPECT_TRUE(issued->api_key.starts_with("pv." + issued->identity.id + "."));

  auto who = ids.Authenticate(vault::RequestContext(), issued->api_key);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->id, issued->identity.id);
  EXPECT_EQ(who->role, Role::kOperatorAdmin);

  std::string wrong = issued->api_key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {wrong, std::string("pv.") + issued->identity.id, std::string("garbage"),
        std::string(""), std::string("pv.id_nope.secret")}) {
    auto r = ids.Authenticate(vault::RequestContext(), bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  }

  ASSERT_TRUE(
      ids.Deactivate(vault::RequestContext(), issued->identity.id, "").ok());
  auto after = ids.Authenticate(vault::RequestContext(), issued->api_key);
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code(), StatusCode::kUnauthenticated);
  auto listed = ids.ListOperators(vault::RequestContext());
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().deactivated_at.has_value());
}

TEST(IdentityServiceTest, SecretIsNeverStored) {
  VaultHarness h;
  auto issued = h.vault->identities.Create(vault::RequestContext(), "app",
                                           Role::kOperatorAdmin, "");
  ASSERT_TRUE(issued.has_value());
  std::string secret = issued->api_key.substr(issued->api_key.rfind('.') + 1);
  for (auto& kv : Dump(*h.control_backend)) {
    EXPECT_EQ(kv.value.find(secret), std::string::npos);
    EXPECT_EQ(kv.key.find(secret), std::string::npos);
  }
}

TEST(IdentityServiceTest, IdsAreUniqueAndTenantScoped) {
  VaultHarness h;
  ASSERT_TRUE(
      h.vault->tenants.Create(vault::RequestContext(), "acme", "", {}, "")
          .has_value());
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto issued = h.vault->identities.Create(vault::RequestContext(), "app",
                                             Role::kTenantApp, "acme");
    ASSERT_TRUE(issued.has_value());
    EXPECT_TRUE(seen.insert(issued->identity.id).second);
  }
  auto list = h.vault->identities.ListTenant(vault::RequestContext(), "acme");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->size(), 50u);
  EXPECT_TRUE(
      h.vault->identities.ListOperators(vault::RequestContext())->empty());
  // Another tenant cannot deactivate acme's identity.
  Status s = h.vault->identities.Deactivate(vault::RequestContext(),
                                            *seen.begin(), "other");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST(TenantServiceTest, NewTenantGetsDefaultPurposesAndValidRegions) {
  VaultHarness h;
  auto t =
      h.vault->tenants.Create(vault::RequestContext(), "acme", "Acme", {}, "");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->regions, (std::vector<std::string>{"eu", "us"}));
  EXPECT_EQ(t->default_region, "eu");
  auto purposes = h.vault->tenants.ListPurposes("acme");
  ASSERT_TRUE(purposes.has_value());
  std::set<std::string> ids;
  for (auto& p : *purposes) ids.insert(p.id);
  EXPECT_EQ(ids, (std::set<std::string>{"advertising", "analytics",
                                        "legal_obligation", "marketing",
                                        "security", "service_delivery"}));
  EXPECT_EQ(h.vault->tenants.Create(vault::RequestContext(), "acme", "", {}, "")
                .error()
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(
      h.vault->tenants.Create(vault::RequestContext(), "bad", "", {"mars"}, "")
          .error()
          .field(),
      "regions");
  EXPECT_EQ(
      h.vault->tenants.Create(vault::RequestContext(), "Bad Id", "", {}, "")
          .error()
          .code(),
      StatusCode::kInvalidArgument);
  auto marketing =
      h.vault->tenants.GetPurpose(vault::RequestContext(), "acme", "marketing");
  ASSERT_TRUE(marketing.has_value());
  EXPECT_TRUE(RequiresConsent(marketing->category));
  // A purpose's category is fixed.
  auto recategorized = h.vault->tenants.PutPurpose(
      vault::RequestContext(), "acme",
      {"marketing", PurposeCategory::kService, "sneaky"});
  EXPECT_EQ(recategorized.error().code(), StatusCode::kFailedPrecondition);
}

TEST(CollectionServiceTest, ExistingFieldsKeepTypeAndSearchability) {
  VaultHarness h;
  auto& cs = h.vault->collections;
  auto created = cs.Put(vault::RequestContext(), "acme", "c",
                        {{"email", FieldType::kEmail, true, true}}, "P30D");
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->created);
  auto added = cs.Put(vault::RequestContext(), "acme", "c",
                      {{"email", FieldType::kEmail, false, true},
                       {"phone", FieldType::kPhone, false, false}},
                      "");
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->created);
  EXPECT_EQ(cs.Put(vault::RequestContext(), "acme", "c",
                   {{"email", FieldType::kString, false, true}}, "")
                .error()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(cs.Put(vault::RequestContext(), "acme", "c",
                   {{"email", FieldType::kEmail, false, false},
                    {"phone", FieldType::kPhone, false, false}},
                   "")
                .error()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(cs.Put(vault::RequestContext(), "acme", "c",
                   {{"email", FieldType::kEmail, false, true}}, "")
                .error()
                .code(),
            StatusCode::kFailedPrecondition);  // phone dropped
  EXPECT_EQ(cs.Put(vault::RequestContext(), "acme", "d",
                   {{"a", FieldType::kEmail}, {"a", FieldType::kName}}, "")
                .error()
                .field(),
            "fields");
  EXPECT_EQ(cs.Put(vault::RequestContext(), "acme", "d",
                   {{"a", FieldType::kEmail}}, "soon")
                .error()
                .field(),
            "retention");
}

}  // namespace
}  // namespace piivault::vault
