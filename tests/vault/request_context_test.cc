// The request context: a request's changes wait for its write-ahead (the
// audit event made durable), every service that changes something builds its
// batches from the context, and what a request touched is noted in its event.
#include "vault/request_context.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "crypto/signer.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::Dump;
using testing::VaultHarness;

// Everything the stores hold, for comparing before and after.
std::vector<std::vector<storage::KeyValue>> Contents(VaultHarness& h) {
  return {Dump(*h.control_backend), Dump(*h.eu_backend), Dump(*h.us_backend)};
}

bool SameRows(const std::vector<std::vector<storage::KeyValue>>& a,
              const std::vector<std::vector<storage::KeyValue>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t s = 0; s < a.size(); ++s) {
    if (a[s].size() != b[s].size()) return false;
    for (std::size_t i = 0; i < a[s].size(); ++i)
      if (a[s][i].key != b[s][i].key || a[s][i].value != b[s][i].value)
        return false;
  }
  return true;
}

TEST(WriteAheadTest, RunsOnceBeforeTheFirstBatchThatNamesIt) {
  VaultHarness h;
  int runs = 0;
  storage::WriteAhead write_ahead([&] {
    ++runs;
    return Status::Ok();
  });
  storage::Backend& store = h.router->control();
  storage::WriteBatch unnamed;
  unnamed.Put("a", "1");
  ASSERT_TRUE(store.Write(unnamed).ok());
  EXPECT_EQ(runs, 0);
  storage::WriteBatch first(&write_ahead);
  first.Put("b", "1");
  ASSERT_TRUE(store.Write(first).ok());
  storage::WriteBatch second(&write_ahead);
  second.Put("c", "1");
  ASSERT_TRUE(store.Write(second).ok());
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(write_ahead.fired());
}

TEST(WriteAheadTest, AFailureRefusesThatBatchAndEveryLaterOne) {
  VaultHarness h;
  int runs = 0;
  storage::WriteAhead write_ahead([&] {
    ++runs;
    return Unavailable("the audit log is down");
  });
  storage::Backend& store = h.router->control();
  for (std::string key : {"a", "b"}) {
    storage::WriteBatch batch(&write_ahead);
    batch.Put(key, "1");
    EXPECT_EQ(store.Write(batch).code(), StatusCode::kUnavailable);
    EXPECT_FALSE(h.control_backend->Get(key)->has_value());
  }
  EXPECT_EQ(runs, 1);
}

// What a request can change, each step on the harness prepared by the steps
// before it (run with no request).
struct Change {
  std::string name;
  std::function<Status(const RequestContext&)> run;
};

class RequestContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    auto put = h.vault->collections.Put(
        none, "acme", "people",
        {{"email", FieldType::kEmail, /*required=*/true, /*searchable=*/true}},
        "");
    ASSERT_TRUE(put.has_value()) << put.error().ToString();
    collection = put->collection;
    auto admin =
        h.vault->identities.Create(none, "adm", Role::kTenantAdmin, "acme");
    ASSERT_TRUE(admin.has_value());
    admin_identity = admin->identity;
    auto op =
        h.vault->identities.Create(none, "op", Role::kOperatorSecurity, "");
    ASSERT_TRUE(op.has_value());
    operator_identity = op->identity;
    marketing = *h.vault->tenants.GetPurpose(none, "acme", "marketing");
  }

  Result<Record> NewRecord(std::string_view principal) {
    return h.vault->records.Create(none, tenant, collection, principal,
                                   std::nullopt,
                                   {{"email", std::string("p@example.org")}});
  }

  // Every service call that changes something, in an order where each
  // finds what it needs.
  std::vector<Change> Changes() {
    auto status = [](auto result) {
      return result ? Status::Ok() : result.error();
    };
    return {
        {"tenants.Create",
         [&](auto& c) {
           return status(
               h.vault->tenants.Create(c, "beta", "Beta", {"eu"}, "eu"));
         }},
        {"tenants.Update",
         [&](auto& c) {
           return status(h.vault->tenants.Update(
               c, "acme",
               TenantPatch{.name = "Acme 2",
                           .regions = std::nullopt,
                           .default_region = std::nullopt}));
         }},
        {"tenants.PutPurpose",
         [&](auto& c) {
           return status(h.vault->tenants.PutPurpose(
               c, "acme", Purpose{"billing", PurposeCategory::kService, ""}));
         }},
        {"identities.Create",
         [&](auto& c) {
           return status(
               h.vault->identities.Create(c, "app", Role::kTenantApp, "acme"));
         }},
        {"identities.Rotate",
         [&](auto& c) {
           return status(
               h.vault->identities.Rotate(c, admin_identity.id, "acme"));
         }},
        {"identities.SetPolicy",
         [&](auto& c) {
           return status(h.vault->identities.SetPolicy(
               c, admin_identity.id, "acme", boost::json::object{}));
         }},
        {"collections.Put",
         [&](auto& c) {
           return status(h.vault->collections.Put(
               c, "acme", "staff", {{"email", FieldType::kEmail}}, ""));
         }},
        {"records.Create",
         [&](auto& c) {
           return status(h.vault->records.Create(
               c, tenant, collection, "user-2", std::nullopt,
               {{"email", std::string("q@example.org")}}));
         }},
        {"records.Update",
         [&](auto& c) {
           return status(h.vault->records.Update(
               c, tenant, collection, record.id,
               {{"email", std::string("r@example.org")}}));
         }},
        {"consents.Record",
         [&](auto& c) {
           return status(h.vault->consents.Record(c, tenant, "user-1",
                                                  marketing, true, "web", ""));
         }},
        {"lockbox.Create",
         [&](auto& c) {
           return status(h.vault->lockbox.Create(
               c, tenant, operator_identity, "support ticket 7",
               compliance::LockboxScope{{"*"}, {"*"}}, "PT1H"));
         }},
        {"disclosures.Create",
         [&](auto& c) {
           compliance::DisclosureService::NewRequest r;
           r.authority.name = "Court";
           r.instrument = {compliance::InstrumentType::kWarrant, "W-1", "DE",
                           true};
           r.scope.principals = {"user-1"};
           return status(
               h.vault->disclosures.Create(c, tenant, operator_identity, r));
         }},
        // The one created above, approved by another identity (the tenant's
        // notice goes in the same batch), then fulfilled.
        {"disclosures.Approve",
         [&](auto& c) {
           return status(h.vault->disclosures.Approve(
               c, h.vault->disclosures.List()->front().id, admin_identity));
         }},
        {"disclosures.Fulfil",
         [&](auto& c) {
           return status(h.vault->disclosures.Fulfil(
               c, h.vault->disclosures.List()->front().id,
               compliance::DisclosureRecord{}));
         }},
        {"relocations.Relocate",
         [&](auto& c) {
           return status(
               h.vault->relocations.Relocate(c, tenant, "user-1", "us"));
         }},
        {"records.Delete",
         [&](auto& c) {
           return h.vault->records.Delete(c, tenant, "people", record.id);
         }},
        {"erasures.Erase",
         [&](auto& c) {
           return status(h.vault->erasures.Erase(c, tenant, "user-1", signer));
         }},
        {"identities.Deactivate",
         [&](auto& c) {
           return h.vault->identities.Deactivate(c, admin_identity.id, "acme");
         }},
    };
  }

  VaultHarness h;
  const RequestContext none;
  Tenant tenant;
  Collection collection;
  Identity admin_identity, operator_identity;
  Purpose marketing;
  Record record;
  crypto::Ed25519Key signer = crypto::Ed25519Key::Generate();
};

// A service that wrote outside its request's batches would change the
// stores here although the write-ahead (the audit event) failed.
TEST_F(RequestContextTest, NoChangeWithoutItsWriteAhead) {
  auto created = NewRecord("user-1");
  ASSERT_TRUE(created.has_value());
  record = *created;
  for (auto& change : Changes()) {
    SCOPED_TRACE(change.name);
    auto before = Contents(h);
    int runs = 0;
    storage::WriteAhead refused([&] {
      ++runs;
      return Unavailable("the audit log is down");
    });
    Status s = change.run(RequestContext(nullptr, &refused, nullptr));
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    EXPECT_EQ(runs, 1);
    EXPECT_TRUE(SameRows(before, Contents(h))) << "changed without its event";
    // And the same change, allowed, does change something: its write-ahead
    // ran first.
    storage::WriteAhead allowed([&] {
      EXPECT_TRUE(SameRows(before, Contents(h)));
      return Status::Ok();
    });
    s = change.run(RequestContext(nullptr, &allowed, nullptr));
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(allowed.fired());
    EXPECT_FALSE(SameRows(before, Contents(h)));
  }
}

TEST_F(RequestContextTest, ReadsNoteWhatTheyTouched) {
  auto created = NewRecord("user-1");
  ASSERT_TRUE(created.has_value());
  audit::Event event;
  const RequestContext context(&event, nullptr, nullptr);
  ASSERT_TRUE(
      h.vault->records.Get(context, tenant, "people", created->id, std::nullopt)
          .has_value());
  event.SettleSubjects();
  EXPECT_EQ(event.records, std::vector<std::string>{created->id});
  EXPECT_EQ(
      event.principal_pseudonyms,
      std::vector<std::string>{*h.vault->records.Pseudonym(tenant, "user-1")});
  EXPECT_EQ(event.region, "eu");
  // No request: nothing to note, and the read works the same.
  EXPECT_TRUE(
      h.vault->records.Get(none, tenant, "people", created->id, std::nullopt)
          .has_value());
}

}  // namespace
}  // namespace piivault::vault
