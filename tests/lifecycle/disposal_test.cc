// Disposal of a terminated tenant: the key goes first (everything unreadable
// at once), then every row in every region and the tenant's control
// documents; identities are deactivated and a signed certificate states the
// counts. An interrupted disposal finishes on the next run with the same
// certificate, and the scheduler disposes at the due time exactly once,
// however many nodes run it.
#include "lifecycle/disposal.h"

#include <gtest/gtest.h>

#include <thread>

#include "audit/audit_log.h"
#include "support/failing_backend.h"
#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::lifecycle {
namespace {

using namespace std::chrono_literals;
using vault::FieldType;
using vault::RequestContext;
using vault::testing::VaultHarness;

class DisposalTest : public ::testing::Test {
 protected:
  DisposalTest()
      : audit_store(h.control_backend),
        signer(crypto::Ed25519Key::Generate()),
        audit(&audit_store, h.keyring.get(), &signer, &h.clock) {}

  void SetUp() override {
    tenant = h.CreateAcme();
    other = *h.vault->tenants.Create(RequestContext(), "other", "Other", {"eu"},
                                     "eu");
    auto c = h.vault->collections.Put(
        RequestContext(), "acme", "people",
        {{"email", FieldType::kEmail, true, true}}, "");
    ASSERT_TRUE(c.has_value());
    people = c->collection;
    auto oc = h.vault->collections.Put(
        RequestContext(), "other", "people",
        {{"email", FieldType::kEmail, true, true}}, "");
    ASSERT_TRUE(oc.has_value());
    eu_record = Create(tenant, people, "ann", "eu");
    Create(tenant, people, "ann", "eu");
    Create(tenant, people, "bob", "us");
    other_record = Create(other, oc->collection, "ann", "eu");
    auto marketing =
        h.vault->tenants.GetPurpose(RequestContext(), "acme", "marketing");
    ASSERT_TRUE(marketing.has_value());
    ASSERT_TRUE(h.vault->consents
                    .Record(RequestContext(), tenant, "ann", *marketing, true,
                            "web", "form")
                    .has_value());
    auto admin = h.vault->identities.Create(RequestContext(), "admin",
                                            vault::Role::kTenantAdmin, "acme");
    ASSERT_TRUE(admin.has_value());
    admin_id = admin->identity.id;
  }

  std::string Create(const vault::Tenant& t, const vault::Collection& c,
                     const std::string& principal, const std::string& region) {
    auto r = h.vault->records.Create(RequestContext(), t, c, principal, region,
                                     {{"email", principal + "@example.org"}});
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? r->id : "";
  }

  void Terminate() {
    auto t =
        h.vault->terminations.Terminate(RequestContext(), "acme", 30 * 24h);
    ASSERT_TRUE(t.has_value()) << t.error().ToString();
  }

  // Keys of `store` that belong to tenant acme (as a path segment).
  static std::vector<std::string> AcmeKeys(storage::MemoryBackend& store) {
    std::vector<std::string> out;
    auto rows = store.Scan("", "", SIZE_MAX);
    EXPECT_TRUE(rows.has_value());
    for (auto& row : rows.value_or(std::vector<storage::KeyValue>{}))
      if (row.key.find("/acme/") != std::string::npos) out.push_back(row.key);
    return out;
  }

  VaultHarness h;
  piivault::testing::FailingBackend audit_store;
  crypto::Ed25519Key signer;
  audit::AuditLog audit;
  vault::Tenant tenant, other;
  vault::Collection people;
  std::string eu_record, other_record, admin_id;
};

TEST_F(DisposalTest, ShredsDeletesEverythingAndCertifies) {
  Terminate();
  auto cert = h.vault->disposals.Dispose(RequestContext(), "acme", signer);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();

  // The certificate: counts per region, the key destroyed, signed.
  ASSERT_EQ(cert->regions.size(), 2u);
  EXPECT_EQ(cert->regions[0].region, "eu");
  EXPECT_EQ(cert->regions[0].principals, 1);
  EXPECT_EQ(cert->regions[0].records, 2);
  EXPECT_EQ(cert->regions[1].region, "us");
  EXPECT_EQ(cert->regions[1].principals, 1);
  EXPECT_EQ(cert->regions[1].records, 1);
  EXPECT_EQ(cert->keys_destroyed, std::vector<std::string>{"acme/v1"});
  EXPECT_LE(cert->started_at, cert->completed_at);
  EXPECT_TRUE(cert->Verify(signer.public_key()));
  DisposalCertificate forged = *cert;
  forged.regions[0].records = 1;
  EXPECT_FALSE(forged.Verify(signer.public_key()));

  // The key is gone and nothing of the tenant is left in any region, nor
  // its directory, schemas, purposes or counters in the control store.
  EXPECT_EQ(h.keyring->GetTenantKeys("acme").error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(AcmeKeys(*h.eu_backend), std::vector<std::string>{});
  EXPECT_EQ(AcmeKeys(*h.us_backend), std::vector<std::string>{});
  for (const std::string& prefix :
       vault::keys::TenantDisposableControlPrefixes("acme")) {
    auto left = h.control_backend->Scan(prefix, "", 10);
    ASSERT_TRUE(left.has_value());
    EXPECT_TRUE(left->empty()) << prefix;
  }
  EXPECT_EQ(h.control_backend->SumCounters("count/acme/").value_or(-1), 0);
  EXPECT_EQ(h.eu_backend->SumCounters("count/acme/").value_or(-1), 0);
  EXPECT_FALSE(h.control_backend->Get("tk/acme").value_or("x").has_value());

  // Its identities are deactivated; the tenant is disposed.
  auto admin = h.vault->identities.Get(RequestContext(), admin_id);
  ASSERT_TRUE(admin.has_value());
  EXPECT_TRUE(admin->deactivated_at.has_value());
  auto after = h.vault->tenants.Get(RequestContext(), "acme");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->state, vault::TenantState::kDisposed);

  // The other tenant is untouched.
  auto kept = h.vault->records.Get(RequestContext(), other, "people",
                                   other_record, std::nullopt);
  EXPECT_TRUE(kept.has_value()) << kept.error().ToString();

  // The register keeps the certificate; a second disposal is a conflict.
  auto stored = h.vault->disposals.Certificate("acme");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_EQ((*stored)->id, cert->id);
  EXPECT_TRUE((*stored)->Verify(signer.public_key()));
  EXPECT_EQ(h.vault->disposals.Dispose(RequestContext(), "acme", signer)
                .error()
                .code(),
            StatusCode::kAborted);
}

TEST_F(DisposalTest, AnActiveTenantMustBeTerminatedFirst) {
  auto cert = h.vault->disposals.Dispose(RequestContext(), "acme", signer);
  ASSERT_FALSE(cert.has_value());
  EXPECT_EQ(cert.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(h.keyring->GetTenantKeys("acme").has_value());
  EXPECT_FALSE(AcmeKeys(*h.eu_backend).empty());
}

TEST_F(DisposalTest, ARegionDownBeforeTheShreddingStopsItBeforeAnything) {
  Terminate();
  h.faults.down.insert(h.us_store);
  auto cert = h.vault->disposals.Dispose(RequestContext(), "acme", signer);
  ASSERT_FALSE(cert.has_value());
  EXPECT_EQ(cert.error().code(), StatusCode::kUnavailable);
  // Every region is counted before the key goes, so nothing was destroyed.
  EXPECT_TRUE(h.keyring->GetTenantKeys("acme").has_value());
  EXPECT_EQ(h.vault->tenants.Get(RequestContext(), "acme")->state,
            vault::TenantState::kTerminating);
}

// The shredding is one step: once it is done, nothing of the tenant opens,
// even while its rows are still there; the next run deletes them and issues
// the certificate the first run began, with the counts it took.
TEST_F(DisposalTest, DataIsUnreadableAtOnceAndAnInterruptedDisposalFinishes) {
  Terminate();
  h.faults.fail_write_in = 2;  // the shredding, then the first deletion fails
  auto first = h.vault->disposals.Dispose(RequestContext(), "acme", signer);
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(AcmeKeys(*h.eu_backend).empty());  // still there...
  auto read = h.vault->records.Get(RequestContext(), tenant, "people",
                                   eu_record, std::nullopt);
  EXPECT_FALSE(read.has_value());  // ...and unreadable
  EXPECT_EQ(h.keyring->GetTenantKeys("acme").error().code(),
            StatusCode::kNotFound);
  auto begun =
      h.vault->control.Get(RequestContext(), vault::keys::Disposal("acme"));
  ASSERT_TRUE(begun.has_value() && begun->has_value());
  const std::string id(begun->value().at("certificate").as_string());

  auto cert = h.vault->disposals.Dispose(RequestContext(), "acme", signer);
  ASSERT_TRUE(cert.has_value()) << cert.error().ToString();
  EXPECT_EQ(cert->id, id);
  EXPECT_EQ(cert->regions[0].records, 2);
  EXPECT_EQ(cert->regions[1].records, 1);
  EXPECT_EQ(AcmeKeys(*h.eu_backend), std::vector<std::string>{});
  EXPECT_EQ(AcmeKeys(*h.us_backend), std::vector<std::string>{});
}

// Two nodes run their schedulers over one control store: the disposal job
// waits for its due time, then runs once, with its event written ahead in
// the tenant's audit log.
TEST_F(DisposalTest, TheSchedulerDisposesAtTheDueTimeExactlyOnce) {
  Scheduler node_a(&h.vault->control, &h.clock);
  Scheduler node_b(&h.vault->control, &h.clock);
  h.vault->disposals.Register(&node_a, &audit);
  h.vault->disposals.Register(&node_b, &audit);
  Terminate();

  auto early = node_a.RunDue(h.clock.now + 29 * 24h);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->completed, 0);
  EXPECT_TRUE(h.keyring->GetTenantKeys("acme").has_value());

  h.clock.now += 30 * 24h + 1s;
  Result<RunReport> a, b;
  std::thread ta([&] { a = node_a.RunDue(h.clock.now); });
  std::thread tb([&] { b = node_b.RunDue(h.clock.now); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->completed + b->completed, 1);

  auto job = node_a.Get(TerminationService::DisposalJobId("acme"));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->state, JobState::kCompleted);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->done, 3);  // the records, of
  EXPECT_EQ(job->total, 3);
  auto cert = h.vault->disposals.Certificate("acme");
  ASSERT_TRUE(cert.has_value() && cert->has_value());
  EXPECT_TRUE((*cert)->Verify(signer.public_key()));
  EXPECT_EQ(AcmeKeys(*h.eu_backend), std::vector<std::string>{});

  auto events = audit.Read(audit::AuditLog::TenantLog("acme"), 0, 1000);
  ASSERT_TRUE(events.has_value());
  int disposals = 0;
  for (auto& e : *events) {
    if (e.action != "tenant.dispose") continue;
    ++disposals;
    EXPECT_EQ(e.actor, "scheduler");
    EXPECT_EQ(e.outcome, audit::Outcome::kOk);
  }
  EXPECT_EQ(disposals, 1);
}

// No event, no disposal: the job fails closed when the audit log refuses
// its event, and nothing is destroyed.
TEST_F(DisposalTest, NoDisposalWithoutItsAuditEvent) {
  Scheduler node(&h.vault->control, &h.clock);
  h.vault->disposals.Register(&node, &audit);
  Terminate();
  audit_store.fail_writes = true;
  h.clock.now += 31 * 24h;
  auto report = node.RunDue(h.clock.now);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->completed, 0);
  EXPECT_EQ(report->retried, 1);
  EXPECT_TRUE(h.keyring->GetTenantKeys("acme").has_value());
  EXPECT_EQ(h.vault->tenants.Get(RequestContext(), "acme")->state,
            vault::TenantState::kTerminating);
}

}  // namespace
}  // namespace piivault::lifecycle
