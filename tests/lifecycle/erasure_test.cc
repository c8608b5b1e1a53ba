// Principal erasure: everything of the principal leaves its region and the
// control store, a signed certificate joins the register, an interrupted
// erasure is finished by the next attempt or at startup, and erasure and
// relocation never run on one principal at once.
#include "lifecycle/erasure.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using lifecycle::ErasureCertificate;
using lifecycle::ErasureService;

using testing::Dump;
using testing::VaultHarness;

class ErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_EQ(tenant.id, "acme");
    auto c = h.vault->collections.Put(
        vault::RequestContext(), "acme", "customers",
        {{"email", FieldType::kEmail, true, true}}, "");
    ASSERT_TRUE(c.has_value());
    customers = c->collection;
    bystander = Create("Kim-2", "kim@example.org");
  }

  std::string Create(const std::string& principal, const std::string& email) {
    auto r =
        h.vault->records.Create(vault::RequestContext(), tenant, customers,
                                principal, std::nullopt, {{"email", email}});
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? r->id : "";
  }

  // A principal with two records and a consent ledger.
  std::vector<std::string> MakeSubject(const std::string& principal) {
    std::vector<std::string> ids{Create(principal, "a@example.org"),
                                 Create(principal, "b@example.org")};
    auto marketing = h.vault->tenants.GetPurpose(vault::RequestContext(),
                                                 "acme", "marketing");
    EXPECT_TRUE(h.vault->consents.Record(vault::RequestContext(), tenant,
                                         principal, *marketing, true,
                                         "web_form", "ref-1"));
    return ids;
  }

  Result<ErasureCertificate> Erase(const std::string& principal) {
    return h.vault->erasures.Erase(vault::RequestContext(), tenant, principal,
                                   signer);
  }

  // Nothing of `principal` is left anywhere but a tombstone in place of its
  // key entry (no key, no consents), and the bystander is intact.
  void ExpectGone(const std::string& principal,
                  const std::vector<std::string>& ids) {
    auto pseudonym = h.vault->records.Pseudonym(tenant, principal);
    ASSERT_TRUE(pseudonym.has_value());
    for (auto* store : {h.eu_backend, h.us_backend, h.control_backend}) {
      EXPECT_FALSE(testing::HoldsAnything(*store, *pseudonym));
      for (auto& id : ids) EXPECT_FALSE(testing::HoldsAnything(*store, id));
    }
    for (auto& id : ids)
      EXPECT_EQ(h.vault->records
                    .Get(vault::RequestContext(), tenant, "customers", id,
                         std::nullopt)
                    .error()
                    .code(),
                StatusCode::kNotFound);
    EXPECT_EQ(h.vault->records
                  .GetPrincipal(vault::RequestContext(), tenant, principal)
                  .error()
                  .code(),
              StatusCode::kNotFound);
    EXPECT_EQ(
        h.vault->consents.Ledger(vault::RequestContext(), tenant, principal)
            .error()
            .code(),
        StatusCode::kNotFound);
    auto found =
        h.vault->records.Search(vault::RequestContext(), tenant, customers,
                                "email", std::string("a@example.org"), 10);
    ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(found->empty());
    EXPECT_TRUE(h.vault->records.Get(vault::RequestContext(), tenant,
                                     "customers", bystander, std::nullopt));
  }

  VaultHarness h;
  crypto::Ed25519Key signer = crypto::Ed25519Key::Generate();
  Tenant tenant;
  Collection customers;
  std::string bystander;
};

TEST_F(ErasureTest, ErasesEverythingAndSignsACertificate) {
  auto ids = MakeSubject("Pat-1");
  auto cert = Erase("Pat-1");
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_TRUE(cert->id.starts_with("cert_"));
  EXPECT_EQ(cert->kind, "principal_erasure");
  EXPECT_EQ(cert->tenant, "acme");
  EXPECT_EQ(cert->principal_pseudonym,
            *h.vault->records.Pseudonym(tenant, "Pat-1"));
  EXPECT_EQ(cert->records, 2);
  EXPECT_EQ(cert->key_id, signer.key_id());
  EXPECT_TRUE(cert->Verify(signer.public_key()));
  ErasureCertificate forged = *cert;
  forged.records = 1;
  EXPECT_FALSE(forged.Verify(signer.public_key()));

  ExpectGone("Pat-1", ids);
  // The counts the locations report follow.
  auto locations = h.vault->tenants.Locations(tenant);
  ASSERT_TRUE(locations.has_value());
  for (auto& l : *locations) {
    if (l.region.id != "eu") continue;
    EXPECT_EQ(l.principals, 1);
    EXPECT_EQ(l.records, 1);
  }
  auto register_ = h.vault->erasures.Certificates("acme");
  ASSERT_TRUE(register_.has_value());
  ASSERT_EQ(register_->size(), 1u);
  EXPECT_EQ(register_->front().id, cert->id);
  EXPECT_TRUE(register_->front().Verify(signer.public_key()));

  // Erased already; never placed.
  EXPECT_EQ(Erase("Pat-1").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(Erase("Nobody").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(Erase(std::string("bad\x01id")).error().code(),
            StatusCode::kInvalidArgument);

  // The same principal id later is a new principal: nothing comes back.
  std::string fresh = Create("Pat-1", "new@example.org");
  auto view =
      h.vault->records.GetPrincipal(vault::RequestContext(), tenant, "Pat-1");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->records.size(), 1u);
  EXPECT_EQ(view->records[0].id, fresh);
  EXPECT_TRUE(view->consents.empty());
}

// Fails the k-th write of an erasure for every k, then finishes it by asking
// again or at "startup": the certificate still counts every record, and
// nothing is left. Once frozen, the principal takes no writes.
TEST_F(ErasureTest, FailureAtEveryWriteIsFinishedLater) {
  int failure_points = 0;
  for (int k = 1; k < 20; ++k) {
    std::string principal = "Pat-" + std::to_string(100 + k);
    auto ids = MakeSubject(principal);
    h.faults.fail_write_in = k;
    auto cert = Erase(principal);
    h.faults.fail_write_in = 0;
    if (cert.has_value()) {
      EXPECT_EQ(cert->records, 2);
      ExpectGone(principal, ids);
      break;  // k is past the erasure's last write
    }
    ++failure_points;
    SCOPED_TRACE("write " + std::to_string(k) + " failed");
    auto pending = h.control_backend->Get(
        keys::Erasure("acme", *h.vault->records.Pseudonym(tenant, principal)));
    ASSERT_TRUE(pending.has_value());
    if (k >= 2) {
      // Started: no write lands any more (once frozen), reads still work
      // until the purge.
      ASSERT_TRUE(pending->has_value());
      auto write = h.vault->records.Create(vault::RequestContext(), tenant,
                                           customers, principal, std::nullopt,
                                           {{"email", "late@example.org"}});
      if (k >= 3) {
        ASSERT_FALSE(write.has_value());
        EXPECT_EQ(write.error().code(), StatusCode::kAborted);
        if (k <= 4) {
          EXPECT_TRUE(h.vault->records.Get(vault::RequestContext(), tenant,
                                           "customers", ids[0], std::nullopt));
        }
      } else if (write) {
        ids.push_back(write->id);  // before the freeze: erased with the rest
      }
    }
    if (k % 2 == 0) {
      auto resumed = h.vault->erasures.ResumeInterrupted(signer);
      ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
      EXPECT_EQ(*resumed, 1);
      auto certs = h.vault->erasures.Certificates("acme");
      ASSERT_TRUE(certs.has_value());
      auto pseudonym = h.vault->records.Pseudonym(tenant, principal);
      auto it = std::find_if(certs->begin(), certs->end(), [&](auto& c) {
        return c.principal_pseudonym == *pseudonym;
      });
      ASSERT_NE(it, certs->end());
      EXPECT_EQ(it->records, static_cast<int64_t>(ids.size()));
    } else {
      auto again = Erase(principal);
      ASSERT_TRUE(again.has_value()) << again.error().ToString();
      // The first write is the intent: failing it means no erasure began.
      EXPECT_EQ(again->records, static_cast<int64_t>(ids.size()));
    }
    ExpectGone(principal, ids);
  }
  EXPECT_EQ(failure_points, 5);  // intent, freeze, count, purge, finish
}

TEST_F(ErasureTest, RelocationAndErasureExcludeEachOther) {
  MakeSubject("Pat-1");
  // An erasure interrupted after its intent: no relocation may start.
  h.faults.fail_write_in = 2;
  ASSERT_FALSE(Erase("Pat-1").has_value());
  h.faults.fail_write_in = 0;
  EXPECT_EQ(h.vault->relocations
                .Relocate(vault::RequestContext(), tenant, "Pat-1", "us")
                .error()
                .code(),
            StatusCode::kAborted);
  ASSERT_TRUE(Erase("Pat-1").has_value());

  // A relocation interrupted after its start: no erasure until it is done.
  MakeSubject("Sam-3");
  h.faults.fail_write_in = 2;
  ASSERT_FALSE(h.vault->relocations
                   .Relocate(vault::RequestContext(), tenant, "Sam-3", "us")
                   .has_value());
  h.faults.fail_write_in = 0;
  EXPECT_EQ(Erase("Sam-3").error().code(), StatusCode::kAborted);
  ASSERT_TRUE(h.vault->relocations.ResumeInterrupted().has_value());
  auto cert = Erase("Sam-3");
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_EQ(cert->records, 2);
  ExpectGone("Sam-3", {});
}

// An erased principal's id can be used again, anywhere: the new principal
// replaces the tombstone, also when a relocation brings it there.
TEST_F(ErasureTest, TheIdCanBeUsedAgainAfterwards) {
  MakeSubject("Pat-1");
  ASSERT_TRUE(Erase("Pat-1").has_value());
  auto in_us = h.vault->records.Create(vault::RequestContext(), tenant,
                                       customers, "Pat-1", std::string("us"),
                                       {{"email", "again@example.org"}});
  ASSERT_TRUE(in_us.has_value()) << in_us.error().ToString();
  auto moved = h.vault->relocations.Relocate(vault::RequestContext(), tenant,
                                             "Pat-1", "eu");
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  auto view =
      h.vault->records.GetPrincipal(vault::RequestContext(), tenant, "Pat-1");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->region, "eu");
  ASSERT_EQ(view->records.size(), 1u);
  EXPECT_EQ(view->records[0].id, in_us->id);
  auto again = Erase("Pat-1");
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(again->records, 1);
  ExpectGone("Pat-1", {in_us->id});
}

// A principal placed whose first write failed has no key entry yet: its
// erasure still leaves a tombstone, so a create that looked it up before
// cannot give it a key afterwards.
TEST_F(ErasureTest, APrincipalWithoutAKeyIsErasedBehindATombstone) {
  h.faults.fail_write_in = 2;  // placement in the directory, then the record
  ASSERT_FALSE(h.vault->records
                   .Create(vault::RequestContext(), tenant, customers, "Half-1",
                           std::nullopt, {{"email", "half@example.org"}})
                   .has_value());
  h.faults.fail_write_in = 0;
  auto view =
      h.vault->records.GetPrincipal(vault::RequestContext(), tenant, "Half-1");
  ASSERT_TRUE(view.has_value());  // placed, holding nothing
  EXPECT_TRUE(view->records.empty());
  auto cert = Erase("Half-1");
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_EQ(cert->records, 0);
  auto entry =
      h.eu_backend->Get(keys::PrincipalKey("acme", cert->principal_pseudonym));
  ASSERT_TRUE(entry.has_value() && entry->has_value());
  EXPECT_TRUE(PrincipalKeyState::Decode(**entry)->tombstone());
  ExpectGone("Half-1", {});
}

}  // namespace
}  // namespace piivault::vault
