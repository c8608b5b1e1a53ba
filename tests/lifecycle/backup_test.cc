// Backups and restores of a region (lifecycle/backup.h) on memory stores:
// a restore gives back the region as it was, leaves out tenants disposed of
// since, re-applies erasures; a changed byte anywhere, another deployment's
// backup or another backup's pending restore is refused with the region
// unchanged, and a restore failing in its replace takes its intent back.
#include "lifecycle/backup.h"

#include <gtest/gtest.h>

#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::lifecycle {
namespace {

using vault::testing::HoldsAnything;
using vault::testing::VaultHarness;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    acme = h.CreateAcme();
    auto beta = h.vault->tenants.Create(vault::RequestContext(), "beta", "Beta",
                                        {"eu"}, "eu");
    ASSERT_TRUE(beta.has_value());
    for (const char* t : {"acme", "beta"}) {
      auto c = h.vault->collections.Put(
          vault::RequestContext(), t, "customers",
          {{"email", vault::FieldType::kEmail, true, true}}, "");
      ASSERT_TRUE(c.has_value());
    }
    auto admin = h.vault->identities.Create(vault::RequestContext(), "admin",
                                            vault::Role::kOperatorAdmin, "");
    ASSERT_TRUE(admin.has_value());
    operator_admin = admin->identity;
  }

  std::string Create(const std::string& tenant, const std::string& principal,
                     const std::string& email) {
    auto t = h.vault->tenants.Get(vault::RequestContext(), tenant);
    auto c =
        h.vault->collections.Get(vault::RequestContext(), tenant, "customers");
    EXPECT_TRUE(t.has_value() && c.has_value());
    auto r = h.vault->records.Create(vault::RequestContext(), *t, *c, principal,
                                     std::nullopt, {{"email", email}});
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? r->id : "";
  }

  std::string TakeBackup() {
    std::string file;
    auto summary = service.Backup("eu", crypto::AppendTo(&file));
    EXPECT_TRUE(summary.has_value()) << summary.error().ToString();
    return file;
  }

  static BackupInput Input(const std::string& file) {
    return {file.size(), [&file](uint64_t offset, char* out, std::size_t n) {
              if (offset + n > file.size()) return DataLoss("short read");
              file.copy(out, n, offset);
              return Status::Ok();
            }};
  }

  Result<RestoreSummary> Restore(const std::string& file) {
    return service.Restore(operator_admin, "eu", "a drill", Input(file));
  }

  // Every row and counter of the eu store, as text.
  std::vector<std::string> Eu() {
    std::vector<std::string> out;
    EXPECT_TRUE(h.eu_backend
                    ->Dump([&](const storage::DumpItem& item) {
                      out.push_back(item.key + "=" + item.value + "/" +
                                    std::to_string(item.counter));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  std::vector<audit::Event> OperatorEvents() {
    auto events = audit.Read(audit::AuditLog::kOperatorLog, 0, 1000);
    EXPECT_TRUE(events.has_value());
    return events.value_or(std::vector<audit::Event>{});
  }

  VaultHarness h;
  crypto::Ed25519Key signer = crypto::Ed25519Key::Generate();
  audit::AuditLog audit{&h.router->control(), h.keyring.get(), &signer,
                        &h.clock};
  BackupService service{h.router.get(), &h.vault->control, &h.vault->erasures,
                        &audit,         &signer,           &h.clock};
  vault::Tenant acme;
  vault::Identity operator_admin;
};

TEST_F(BackupTest, RestoreGivesBackTheRegionAsItWas) {
  const std::string kept = Create("acme", "Ann-1", "ann@example.org");
  Create("beta", "Bob-2", "bob@example.org");
  const std::vector<std::string> at_backup = Eu();
  const std::string file = TakeBackup();
  EXPECT_EQ(file.find("ann@example.org"), std::string::npos);

  Create("acme", "Cid-3", "cid@example.org");
  auto deleted =
      h.vault->records.Delete(vault::RequestContext(), acme, "customers", kept);
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  ASSERT_NE(Eu(), at_backup);

  auto restored = Restore(file);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  EXPECT_FALSE(restored->resumed);
  EXPECT_EQ(restored->dropped_items, 0);
  EXPECT_EQ(Eu(), at_backup);
  EXPECT_FALSE(h.control_backend->Get(vault::keys::Restore("eu"))->has_value());

  auto events = OperatorEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "region.restore");
  EXPECT_EQ(events[0].actor, operator_admin.id);
  EXPECT_EQ(events[0].reason, "a drill");
  EXPECT_EQ(events[0].backup, restored->backup.header.backup_id);
  EXPECT_EQ(events[0].region, "eu");
  EXPECT_EQ(restored->audit_index, 0u);
}

// A tenant disposed of after the backup: none of its rows or counters come
// back; the other tenants' do.
TEST_F(BackupTest, DisposedTenantsAreLeftOut) {
  Create("acme", "Ann-1", "ann@example.org");
  Create("beta", "Bob-2", "bob@example.org");
  const std::string file = TakeBackup();

  auto beta = h.vault->tenants.Get(vault::RequestContext(), "beta");
  ASSERT_TRUE(beta.has_value());
  beta->state = vault::TenantState::kDisposed;
  storage::WriteBatch batch;
  h.vault->control.Put(batch, vault::keys::Tenant("beta"),
                       vault::ToJson(*beta));
  ASSERT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());

  auto restored = Restore(file);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  EXPECT_GT(restored->dropped_items, 0);
  for (const std::string& line : Eu())
    EXPECT_EQ(line.find("/beta/"), std::string::npos) << line;
  EXPECT_EQ(h.eu_backend->SumCounters("count/beta/").value_or(-1), 0);
  EXPECT_EQ(h.eu_backend->SumCounters("count/acme/").value_or(-1), 1);
}

// Erased after the backup: gone again after the restore (a tombstone in
// place of the key entry); erased before it: nothing to do.
TEST_F(BackupTest, ErasuresAfterTheBackupAreAppliedAgain) {
  const std::string early = Create("acme", "Eve-0", "eve@example.org");
  ASSERT_TRUE(
      h.vault->erasures.Erase(vault::RequestContext(), acme, "Eve-0", signer)
          .has_value());
  h.clock.now += std::chrono::seconds(5);
  const std::string late = Create("acme", "Ann-1", "ann@example.org");
  const std::string stays = Create("acme", "Bob-2", "bob@example.org");
  const std::string file = TakeBackup();
  h.clock.now += std::chrono::seconds(5);
  ASSERT_TRUE(
      h.vault->erasures.Erase(vault::RequestContext(), acme, "Ann-1", signer)
          .has_value());

  auto restored = Restore(file);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  EXPECT_EQ(restored->erasures_reapplied, 1);
  EXPECT_FALSE(HoldsAnything(*h.eu_backend, late));
  EXPECT_FALSE(HoldsAnything(*h.eu_backend, early));
  EXPECT_TRUE(HoldsAnything(*h.eu_backend, stays));
  auto pseudonym = h.vault->records.Pseudonym(acme, "Ann-1");
  ASSERT_TRUE(pseudonym.has_value());
  auto key = h.eu_backend->Get(vault::keys::PrincipalKey("acme", *pseudonym));
  ASSERT_TRUE(key.has_value() && key->has_value());
  EXPECT_TRUE(vault::PrincipalKeyState::Decode(**key)->tombstone());
  EXPECT_EQ(h.eu_backend->SumCounters("count/acme/").value_or(-1), 1);
}

// The registers apply on the way into the replacement: the erased
// principal's rows are never written, so nothing is left to purge after it.
TEST_F(BackupTest, ErasedPrincipalsAreNeverWritten) {
  const std::string late = Create("acme", "Ann-1", "ann@example.org");
  Create("acme", "Ann-1", "ann2@example.org");
  Create("acme", "Bob-2", "bob@example.org");
  const std::string file = TakeBackup();
  h.clock.now += std::chrono::seconds(5);
  ASSERT_TRUE(
      h.vault->erasures.Erase(vault::RequestContext(), acme, "Ann-1", signer)
          .has_value());
  const auto rows_after_erasure = vault::testing::Dump(*h.eu_backend);
  h.faults.fail_write_in = 1000;  // counts the writes
  auto restored = Restore(file);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  EXPECT_EQ(restored->erasures_reapplied, 1);
  // The audit event, the intent, the replacement, the intent's removal.
  EXPECT_EQ(1000 - h.faults.fail_write_in, 4);
  EXPECT_FALSE(HoldsAnything(*h.eu_backend, late));
  EXPECT_EQ(vault::testing::Dump(*h.eu_backend), rows_after_erasure);
  EXPECT_EQ(h.eu_backend->SumCounters("count/acme/").value_or(-1), 1);
}

// Every byte of the file is covered: changing any one is refused before
// anything changes.
TEST_F(BackupTest, AnyChangedByteIsRefused) {
  Create("acme", "Ann-1", "ann@example.org");
  const std::string file = TakeBackup();
  Create("acme", "Bob-2", "bob@example.org");
  const std::vector<std::string> before = Eu();
  ASSERT_TRUE(service.Verify("eu", Input(file)).has_value());
  for (std::size_t i = 0; i < file.size(); i += 7) {
    std::string changed = file;
    changed[i] = static_cast<char>(changed[i] ^ 0x20);
    auto r = Restore(changed);
    ASSERT_FALSE(r.has_value()) << "byte " << i;
  }
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{20}, file.size() / 2, file.size() - 1}) {
    EXPECT_FALSE(Restore(file.substr(0, cut)).has_value()) << cut;
  }
  EXPECT_EQ(Eu(), before);
  EXPECT_TRUE(OperatorEvents().empty());
  EXPECT_EQ(service.Verify("us", Input(file)).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(BackupTest, AnotherDeploymentsBackupIsRefused) {
  VaultHarness other;
  other.CreateAcme();
  crypto::Ed25519Key other_signer = crypto::Ed25519Key::Generate();
  audit::AuditLog other_audit{&other.router->control(), other.keyring.get(),
                              &other_signer, &other.clock};
  BackupService other_service{other.router.get(),     &other.vault->control,
                              &other.vault->erasures, &other_audit,
                              &other_signer,          &other.clock};
  std::string file;
  ASSERT_TRUE(other_service.Backup("eu", crypto::AppendTo(&file)).has_value());
  const std::vector<std::string> before = Eu();
  EXPECT_EQ(Restore(file).error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Eu(), before);
}

TEST_F(BackupTest, OnlyAnOperatorAdminWithAReasonRestores) {
  const std::string file = TakeBackup();
  vault::Identity auditor = operator_admin;
  auditor.role = vault::Role::kAuditor;
  EXPECT_EQ(service.Restore(auditor, "eu", "why", Input(file)).error().code(),
            StatusCode::kPermissionDenied);
  vault::Identity gone = operator_admin;
  gone.deactivated_at = h.clock.now;
  EXPECT_EQ(service.Restore(gone, "eu", "why", Input(file)).error().code(),
            StatusCode::kPermissionDenied);
  for (std::string reason : {"", "line\nbreak", "\xe2\x80\xae"})
    EXPECT_EQ(service.Restore(operator_admin, "eu", reason, Input(file))
                  .error()
                  .field(),
              "reason");
  EXPECT_TRUE(OperatorEvents().empty());
}

// An interrupted restore of another backup must be finished first.
TEST_F(BackupTest, APendingRestoreOfAnotherBackupIsFinishedFirst) {
  const std::string first = TakeBackup();
  const std::string second = TakeBackup();
  storage::WriteBatch batch;
  auto header = service.Verify("eu", Input(first));
  ASSERT_TRUE(header.has_value());
  h.vault->control.Put(
      batch, vault::keys::Restore("eu"),
      boost::json::object{{"backup_id", header->header.backup_id},
                          {"region", "eu"},
                          {"actor", operator_admin.id},
                          {"started_at", 0},
                          {"audit_index", 0}});
  ASSERT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());
  auto pending = service.PendingRestores();
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].backup_id, header->header.backup_id);

  EXPECT_EQ(Restore(second).error().code(), StatusCode::kFailedPrecondition);
  auto finished = Restore(first);
  ASSERT_TRUE(finished.has_value()) << finished.error().ToString();
  EXPECT_TRUE(finished->resumed);
  EXPECT_TRUE(service.PendingRestores()->empty());
  EXPECT_TRUE(OperatorEvents().empty());  // the first run wrote it
}

// A first run whose replace fails changed nothing: it takes its intent back
// and its audit entry gets an outcome entry saying error.
TEST_F(BackupTest, AFailedReplaceTakesItsIntentBack) {
  Create("acme", "Ann-1", "ann@example.org");
  const std::string file = TakeBackup();
  Create("acme", "Bob-2", "bob@example.org");
  const std::vector<std::string> before = Eu();
  // Writes: the audit entry, the intent, the replace. The replace fails,
  // then (another run) the intent.
  for (int failing : {3, 2}) {
    SCOPED_TRACE(failing);
    const std::size_t logged = OperatorEvents().size();
    h.faults.fail_write_in = failing;
    EXPECT_EQ(Restore(file).error().code(), StatusCode::kUnavailable);
    EXPECT_EQ(Eu(), before);
    EXPECT_TRUE(service.PendingRestores()->empty());
    auto events = OperatorEvents();
    ASSERT_EQ(events.size(), logged + 2);
    EXPECT_EQ(events.back().outcome, audit::Outcome::kError);
    EXPECT_EQ(events.back().intent, std::optional<uint64_t>(logged));
  }
}

}  // namespace
}  // namespace piivault::lifecycle
