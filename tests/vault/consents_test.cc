// The consent ledger at service level: grants and withdrawals in order with
// the state they lead to, kept sealed in the principal's region, carried by
// a relocation, and refused for unknown principals.
#include "vault/consents.h"

#include <gtest/gtest.h>

#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::Dump;
using testing::VaultHarness;

class ConsentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = h.vault->tenants.Create("acme", "Acme", {"eu", "us"}, "eu");
    ASSERT_TRUE(t.has_value()) << t.error().ToString();
    tenant = *t;
    auto c = h.vault->collections.Put(
        "acme", "customers", {{"email", FieldType::kEmail, true, true}}, "");
    ASSERT_TRUE(c.has_value());
    auto r =
        h.vault->records.Create(tenant, c->collection, "Pat-1", std::nullopt,
                                {{"email", std::string("p@example.org")}});
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    marketing = *h.vault->tenants.GetPurpose("acme", "marketing");
    advertising = *h.vault->tenants.GetPurpose("acme", "advertising");
  }

  Result<ConsentEvent> Give(const Purpose& p, bool granted,
                            std::string principal = "Pat-1") {
    return h.vault->consents.Record(tenant, principal, p, granted, "web_form",
                                    "form-submission-17");
  }

  VaultHarness h;
  Tenant tenant;
  Purpose marketing, advertising;
};

TEST_F(ConsentTest, GrantsAndWithdrawalsFormALedgerAndItsCurrentState) {
  EXPECT_TRUE(h.vault->consents.Current(tenant, "Pat-1")->empty());
  ASSERT_TRUE(Give(marketing, true));
  h.clock.now += std::chrono::seconds(5);
  ASSERT_TRUE(Give(advertising, true));
  EXPECT_EQ(*h.vault->consents.Current(tenant, "Pat-1"),
            (std::map<std::string, bool>{{"advertising", true},
                                         {"marketing", true}}));
  // Withdrawal is effective at once.
  auto withdrawn = Give(marketing, false);
  ASSERT_TRUE(withdrawn.has_value());
  EXPECT_EQ(withdrawn->seq, 2u);
  EXPECT_EQ(h.vault->consents.Current(tenant, "Pat-1")->at("marketing"), false);

  auto ledger = h.vault->consents.Ledger(tenant, "Pat-1");
  ASSERT_TRUE(ledger.has_value()) << ledger.error().ToString();
  ASSERT_EQ(ledger->history.size(), 3u);
  EXPECT_EQ(ledger->history[0].purpose, "marketing");
  EXPECT_TRUE(ledger->history[0].granted);
  EXPECT_EQ(ledger->history[0].method, "web_form");
  EXPECT_EQ(ledger->history[0].evidence, "form-submission-17");
  EXPECT_EQ(ledger->history[1].at - ledger->history[0].at,
            std::chrono::seconds(5));
  EXPECT_FALSE(ledger->history[2].granted);
  EXPECT_EQ(ledger->current, (std::map<std::string, bool>{
                                 {"advertising", true}, {"marketing", false}}));
}

TEST_F(ConsentTest, LedgerIsSealedInThePrincipalsRegionOnly) {
  ASSERT_TRUE(Give(marketing, true));
  bool found = false;
  for (auto& kv : Dump(*h.eu_backend)) {
    if (!kv.key.starts_with("consent/") && !kv.key.starts_with("cstate/"))
      continue;
    found = true;
    EXPECT_EQ(kv.value.find("marketing"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.value.find("form-submission"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.key.find("Pat-1"), std::string::npos) << kv.key;
  }
  EXPECT_TRUE(found);
  for (auto& kv : Dump(*h.us_backend))
    EXPECT_FALSE(kv.key.starts_with("consent/") ||
                 kv.key.starts_with("cstate/"))
        << kv.key;
}

TEST_F(ConsentTest, RelocationCarriesTheLedger) {
  ASSERT_TRUE(Give(marketing, true));
  ASSERT_TRUE(Give(marketing, false));
  auto moved = h.vault->relocations.Relocate(tenant, "Pat-1", "us");
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  auto ledger = h.vault->consents.Ledger(tenant, "Pat-1");
  ASSERT_TRUE(ledger.has_value()) << ledger.error().ToString();
  EXPECT_EQ(ledger->history.size(), 2u);
  EXPECT_EQ(ledger->current.at("marketing"), false);
  for (auto& kv : Dump(*h.eu_backend))
    EXPECT_FALSE(kv.key.starts_with("consent/") ||
                 kv.key.starts_with("cstate/"))
        << kv.key;
  // And it keeps growing in its new home.
  ASSERT_TRUE(Give(marketing, true));
  EXPECT_EQ(h.vault->consents.Current(tenant, "Pat-1")->at("marketing"), true);
}

TEST_F(ConsentTest, UnknownPrincipalsAndBadInputChangeNothing) {
  auto before = Dump(*h.eu_backend);
  EXPECT_EQ(Give(marketing, true, "Nobody").error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      h.vault->consents
          .Record(tenant, "Pat-1", marketing, true, std::string(65, 'm'), "")
          .error()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(Dump(*h.eu_backend), before);
  EXPECT_EQ(h.vault->consents.Current(tenant, "Nobody").error().code(),
            StatusCode::kNotFound);
}

// A removed event breaks the ledger loudly rather than rewriting history.
TEST_F(ConsentTest, AGapInTheLedgerIsDataLoss) {
  ASSERT_TRUE(Give(marketing, true));
  ASSERT_TRUE(Give(marketing, false));
  for (auto& kv : Dump(*h.eu_backend)) {
    if (!kv.key.starts_with("consent/")) continue;
    storage::WriteBatch b;
    b.Delete(kv.key);
    ASSERT_TRUE(h.eu_backend->Write(b).ok());
    break;
  }
  EXPECT_EQ(h.vault->consents.Ledger(tenant, "Pat-1").error().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace piivault::vault
