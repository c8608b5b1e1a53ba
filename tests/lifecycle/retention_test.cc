// Retention passes: records older than their collection's retention since
// their last update are disposed of, each after its event is in the
// tenant's audit log (none without it), and a pass interrupted mid-way
// finishes on the next run with exactly the right records gone.
#include "lifecycle/retention.h"

#include <gtest/gtest.h>

#include <set>

#include "audit/audit_log.h"
#include "storage/forwarding_backend.h"
#include "support/failing_backend.h"
#include "vault_fixture.h"

namespace piivault::lifecycle {
namespace {

using namespace std::chrono_literals;
using vault::FieldType;
using vault::RequestContext;
using vault::testing::VaultHarness;

// Thrown to leave RunDue the way a kill -9 of the node would (as in the
// scheduler's tests): no final write, the job left running under a lease.
struct SimulatedCrash {};

// Forwards to a region store, and "crashes" instead of applying the record
// deletion after the first `allowed` ones while armed.
class CrashingStore final : public storage::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Status Write(const storage::WriteBatch& batch) override {
    bool deletes_record = false;
    for (auto& op : batch.ops())
      if (op.kind == storage::WriteBatch::Op::Kind::kDelete &&
          op.key.starts_with("rec/"))
        deletes_record = true;
    if (deletes_record && armed && (*deletions)++ >= allowed)
      throw SimulatedCrash{};
    return ForwardingBackend::Write(batch);
  }
  bool armed = true;
  int allowed = 0;
  int* deletions = nullptr;
};

SchedulerOptions EverySave() {
  SchedulerOptions o;
  o.persist_every = 0s;  // every page's cursor is saved
  return o;
}

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest()
      : audit_store(h.control_backend),
        signer(crypto::Ed25519Key::Generate()),
        audit(&audit_store, h.keyring.get(), &signer, &h.clock) {
    retention.Register(&scheduler);
  }

  void SetUp() override {
    tenant = h.CreateAcme();
    notes = PutCollection("notes", "P30D");
    logs = PutCollection("logs", "");
  }

  vault::Collection PutCollection(const std::string& name,
                                  const std::string& retention_period) {
    auto c = h.vault->collections.Put(
        RequestContext(), "acme", name,
        {{"text", FieldType::kString, true, true}}, retention_period);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c ? c->collection : vault::Collection{};
  }

  std::string Create(const vault::Collection& c, const std::string& principal,
                     std::optional<std::string> region = std::nullopt) {
    auto r = h.vault->records.Create(RequestContext(), tenant, c, principal,
                                     region, {{"text", std::string("hello")}});
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? r->id : "";
  }

  bool Exists(const std::string& collection, const std::string& id) {
    auto r = h.vault->records.Get(RequestContext(), tenant, collection, id,
                                  std::nullopt);
    EXPECT_TRUE(r || r.error().code() == StatusCode::kNotFound)
        << r.error().ToString();
    return r.has_value();
  }

  // Schedules a pass due now and runs what is due on `node`.
  RunReport RunPass(Scheduler& node) {
    auto job = node.Schedule(RequestContext(), {.kind = JobKind::kRetention,
                                                .due_at = h.clock.now,
                                                .params = {},
                                                .id = "pass"});
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    return RunDue(node);
  }
  RunReport RunDue(Scheduler& node) {
    auto report = node.RunDue(h.clock.now);
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    return report.value_or(RunReport{});
  }

  // The retention events of the tenant's log.
  std::vector<audit::Event> Disposals() {
    std::vector<audit::Event> out;
    auto events = audit.Read(audit::AuditLog::TenantLog("acme"), 0, 10000);
    EXPECT_TRUE(events.has_value()) << events.error().ToString();
    for (auto& e : events.value_or(std::vector<audit::Event>{}))
      if (e.action == "retention.dispose") out.push_back(e);
    return out;
  }

  VaultHarness h;
  // The audit log's own store (over the control store's memory): its
  // writes fail while `fail_writes` is set.
  piivault::testing::FailingBackend audit_store;
  crypto::Ed25519Key signer;
  audit::AuditLog audit;
  Scheduler scheduler{&h.vault->control, &h.clock, EverySave()};
  RetentionService retention{h.router.get(),    &h.vault->control,
                             &h.vault->records, &audit,
                             &h.clock,          {.interval = 1h, .page = 2}};
  vault::Tenant tenant;
  vault::Collection notes, logs;
};

TEST_F(RetentionTest, DisposesOfRecordsOlderThanRetentionSinceLastUpdate) {
  const std::string old_eu = Create(notes, "Ann-1");
  const std::string old_us = Create(notes, "Bob-2", "us");
  const std::string no_retention = Create(logs, "Ann-1");
  const std::string updated = Create(notes, "Cyd-3");
  h.clock.now += std::chrono::days(20);
  const std::string young = Create(notes, "Bob-2");
  auto changed =
      h.vault->records.Update(RequestContext(), tenant, notes, updated,
                              {{"text", std::string("changed")}});
  ASSERT_TRUE(changed.has_value()) << changed.error().ToString();
  h.clock.now += std::chrono::days(15);  // the first ones are 35 days old

  RunReport report = RunPass(scheduler);
  EXPECT_EQ(report.completed, 1);

  EXPECT_FALSE(Exists("notes", old_eu));
  EXPECT_FALSE(Exists("notes", old_us));
  EXPECT_TRUE(Exists("notes", updated)) << "created 35, updated 15 days ago";
  EXPECT_TRUE(Exists("notes", young));
  EXPECT_TRUE(Exists("logs", no_retention));
  // Index entries and principal rows went with the records.
  EXPECT_FALSE(vault::testing::HoldsAnything(*h.eu_backend, old_eu));
  EXPECT_FALSE(vault::testing::HoldsAnything(*h.us_backend, old_us));

  auto disposals = Disposals();
  std::set<std::string> named;
  for (auto& e : disposals) {
    named.insert(e.record);
    EXPECT_EQ(e.actor, "scheduler");
    EXPECT_EQ(e.request_id, "pass");
    EXPECT_EQ(e.collection, "notes");
    EXPECT_EQ(e.outcome, audit::Outcome::kOk);
    EXPECT_FALSE(e.principal_pseudonym.empty());
  }
  EXPECT_EQ(disposals.size(), 2u);
  EXPECT_EQ(named, (std::set<std::string>{old_eu, old_us}));

  // The next pass is scheduled, once, at the next hour.
  const int64_t now_s = ToUnixMicros(h.clock.now) / 1'000'000;
  const int64_t slot = (now_s / 3600 + 1) * 3600;
  auto next = scheduler.Get("retention-" + std::to_string(slot));
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(next->kind, JobKind::kRetention);
  EXPECT_EQ(next->state, JobState::kScheduled);
  EXPECT_TRUE(retention.ScheduleNext(scheduler).ok());
}

TEST_F(RetentionTest, NothingIsDisposedOfWithoutItsAuditEvent) {
  const std::string old = Create(notes, "Ann-1");
  h.clock.now += std::chrono::days(31);
  audit_store.fail_writes = true;

  RunReport report = RunPass(scheduler);
  EXPECT_EQ(report.retried, 1);
  EXPECT_TRUE(Exists("notes", old));
  EXPECT_TRUE(scheduler.Get("pass")->error.size() > 0);

  // Once the log takes events again, the retried pass disposes of it.
  audit_store.fail_writes = false;
  h.clock.now += 1min;  // past the retry's backoff, before the next pass
  report = RunDue(scheduler);
  EXPECT_EQ(report.completed, 1);
  EXPECT_FALSE(Exists("notes", old));
  auto disposals = Disposals();
  ASSERT_EQ(disposals.size(), 1u);
  EXPECT_EQ(disposals[0].record, old);
}

TEST_F(RetentionTest, PassInterruptedMidwayFinishesOnTheNextRun) {
  std::set<std::string> expired, kept;
  for (int i = 0; i < 4; ++i) {
    expired.insert(Create(notes, "Old-" + std::to_string(i)));
    expired.insert(Create(notes, "Far-" + std::to_string(i), "us"));
  }
  h.clock.now += std::chrono::days(25);
  for (int i = 0; i < 3; ++i) {
    kept.insert(Create(notes, "New-" + std::to_string(i)));
    kept.insert(Create(notes, "Abr-" + std::to_string(i), "us"));
  }
  kept.insert(Create(logs, "Old-0"));
  h.clock.now += std::chrono::days(10);

  // Node a sees the regions through stores that crash it after its third
  // deletion.
  int deletions = 0;
  auto crashing = [&](std::string_view region) {
    auto store = std::make_unique<CrashingStore>(h.router->region(region));
    store->allowed = 3;
    store->deletions = &deletions;
    return store;
  };
  std::map<std::string, std::unique_ptr<storage::Backend>> regions;
  regions.emplace("eu", crashing("eu"));
  regions.emplace("us", crashing("us"));
  storage::RegionRouter router_a(
      std::make_unique<storage::ForwardingBackend>(&h.router->control()),
      vault::testing::TwoRegions(), std::move(regions));
  vault::RecordService records_a(&router_a, &h.vault->control, &h.clock);
  RetentionService retention_a(&router_a, &h.vault->control, &records_a, &audit,
                               &h.clock, {.interval = 1h, .page = 2});
  Scheduler a(&h.vault->control, &h.clock, EverySave());
  retention_a.Register(&a);

  ASSERT_TRUE(a.Schedule(RequestContext(), {.kind = JobKind::kRetention,
                                            .due_at = h.clock.now,
                                            .params = {},
                                            .id = "pass"})
                  .has_value());
  EXPECT_THROW((void)a.RunDue(h.clock.now), SimulatedCrash);
  auto crashed = scheduler.Get("pass");
  ASSERT_TRUE(crashed.has_value());
  EXPECT_EQ(crashed->state, JobState::kRunning);
  // Its cursor was saved with its progress.
  EXPECT_TRUE(crashed->params.contains("after"));
  int gone = 0;
  for (auto& id : expired) gone += Exists("notes", id) ? 0 : 1;
  EXPECT_EQ(gone, 3);

  // What the resumed pass has left to read: the records after the cursor
  // (regions in name order).
  auto param = [](const Job& job, const char* name) {
    return std::string(job.params.at(name).as_string());
  };
  const std::string at_region = param(*crashed, "region");
  const std::string after = param(*crashed, "after");
  int64_t left = 0;
  for (auto& [name, store] :
       {std::pair{"eu", h.eu_backend}, std::pair{"us", h.us_backend}})
    for (auto& kv : vault::testing::Dump(*store))
      if (kv.key.starts_with("rec/acme/") &&
          (name > at_region || (name == at_region && kv.key.substr(9) > after)))
        ++left;

  // Another node takes the pass over once the lease has lapsed.
  h.clock.now += 2min;
  RunReport report = RunDue(scheduler);
  EXPECT_EQ(report.completed, 1);
  for (auto& id : expired) EXPECT_FALSE(Exists("notes", id)) << id;
  for (auto& id : kept)
    EXPECT_TRUE(Exists("notes", id) || Exists("logs", id)) << id;
  std::set<std::string> named;
  for (auto& e : Disposals()) named.insert(e.record);
  EXPECT_EQ(named, expired);
  // It went on from the cursor rather than from the start.
  auto finished = scheduler.Get("pass");
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->params.at("examined").as_int64(),
            crashed->params.at("examined").as_int64() + left);
}

}  // namespace
}  // namespace piivault::lifecycle
