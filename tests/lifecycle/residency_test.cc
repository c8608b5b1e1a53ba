// Residency at service level: exact location counters, relocation (including
// failure at every write and resumption), region closing, and a region that
// is down.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using lifecycle::RelocationService;

using testing::Dump;
using testing::VaultHarness;

struct Count {
  int64_t principals = 0;
  std::optional<int64_t> records;
  bool operator==(const Count&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Count& c) {
  return os << "{principals " << c.principals << ", records "
            << (c.records ? std::to_string(*c.records) : "unknown") << "}";
}

bool AnyKeyContains(storage::Backend& backend, std::string_view needle) {
  for (auto& kv : Dump(backend))
    if (kv.key.find(needle) != std::string::npos) return true;
  return false;
}

class ResidencyTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(); }

  // (Re)creates the harness, tenant and collection from scratch.
  void Build() {
    h = std::make_unique<VaultHarness>();
    tenant = h->CreateAcme();
    ASSERT_EQ(tenant.id, "acme");
    auto c =
        h->vault->collections.Put(vault::RequestContext(), "acme", "customers",
                                  {{"email", FieldType::kEmail, true, true},
                                   {"name", FieldType::kName, false, true},
                                   {"ssn", FieldType::kSsn, false, false}},
                                  "");
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    collection = c->collection;
  }

  Result<Record> Create(std::string_view principal, std::string email,
                        std::optional<std::string> region = std::nullopt) {
    return records().Create(vault::RequestContext(), tenant, collection,
                            principal, std::move(region),
                            {{"email", std::move(email)},
                             {"name", std::string("Some Body")},
                             {"ssn", std::string("123-45-6789")}});
  }
  Record MustCreate(std::string_view principal, std::string email,
                    std::optional<std::string> region = std::nullopt) {
    auto r = Create(principal, std::move(email), std::move(region));
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(Record{});
  }

  std::map<std::string, Count> Counts() {
    auto locations = h->vault->tenants.Locations(tenant);
    EXPECT_TRUE(locations.has_value()) << locations.error().ToString();
    std::map<std::string, Count> out;
    for (auto& l : locations.value_or(std::vector<RegionLocation>{}))
      out[l.region.id] = Count{l.principals, l.records};
    return out;
  }

  std::string PseudonymOf(std::string_view principal) {
    auto p = records().Pseudonym(tenant, principal);
    EXPECT_TRUE(p.has_value());
    return p.value_or("");
  }

  // The email stored in record `id`, read through the vault.
  std::string EmailOf(std::string_view id) {
    auto r = records().Get(vault::RequestContext(), tenant, "customers", id,
                           std::nullopt);
    if (!r) return "error: " + r.error().ToString();
    for (auto& [name, value] : r->fields)
      if (name == "email") return std::get<std::string>(value);
    return "no email";
  }

  std::size_t SearchHits(std::string email) {
    auto found = records().Search(vault::RequestContext(), tenant, collection,
                                  "email", std::move(email), 100);
    EXPECT_TRUE(found.has_value()) << found.error().ToString();
    return found.value_or(std::vector<Record>{}).size();
  }

  RecordService& records() { return h->vault->records; }
  RelocationService& relocations() { return h->vault->relocations; }

  std::unique_ptr<VaultHarness> h;
  Tenant tenant;
  Collection collection;
};

TenantPatch OnlyEu() {
  TenantPatch patch;
  patch.regions = std::vector<std::string>{"eu"};
  return patch;
}

TEST_F(ResidencyTest, LocationCountsAreExactAfterCreatesDeletesRelocations) {
  using M = std::map<std::string, Count>;
  EXPECT_EQ(Counts(), (M{{"eu", {0, 0}}, {"us", {0, 0}}}));
  auto a1 = MustCreate("p1", "a1@example.com");
  MustCreate("p1", "a2@example.com");
  MustCreate("p1", "a3@example.com");
  MustCreate("p2", "b@example.com", "eu");
  MustCreate("p3", "c1@example.com", "us");
  MustCreate("p3", "c2@example.com");
  EXPECT_EQ(Counts(), (M{{"eu", {2, 4}}, {"us", {1, 2}}}));

  ASSERT_TRUE(records()
                  .Delete(vault::RequestContext(), tenant, "customers", a1.id)
                  .ok());
  EXPECT_EQ(Counts(), (M{{"eu", {2, 3}}, {"us", {1, 2}}}));

  // Failed operations change no count.
  EXPECT_FALSE(records()
                   .Delete(vault::RequestContext(), tenant, "customers", a1.id)
                   .ok());
  EXPECT_FALSE(Create("p4", "not an email").has_value());
  EXPECT_FALSE(Create("p1", "x@example.com", "us").has_value());  // conflict
  EXPECT_EQ(Counts(), (M{{"eu", {2, 3}}, {"us", {1, 2}}}));

  ASSERT_EQ(relocations()
                .Relocate(vault::RequestContext(), tenant, "p1", "us")
                .value_or(""),
            "us");
  EXPECT_EQ(Counts(), (M{{"eu", {1, 1}}, {"us", {2, 4}}}));
  ASSERT_EQ(relocations()
                .Relocate(vault::RequestContext(), tenant, "p1", "us")
                .value_or(""),
            "us");
  EXPECT_EQ(Counts(), (M{{"eu", {1, 1}}, {"us", {2, 4}}}));
  ASSERT_EQ(relocations()
                .Relocate(vault::RequestContext(), tenant, "p3", "eu")
                .value_or(""),
            "eu");
  EXPECT_EQ(Counts(), (M{{"eu", {2, 3}}, {"us", {1, 2}}}));
}

TEST_F(ResidencyTest, RelocationMovesEverythingAndKeepsItUsable) {
  auto r1 = MustCreate("p1", "mover@example.com");
  auto r2 = MustCreate("p1", "mover2@example.com");
  auto other = MustCreate("p2", "stayer@example.com");
  auto tokens = records().Tokenize(vault::RequestContext(), tenant, collection,
                                   r1.id, {"ssn"});
  ASSERT_TRUE(tokens.has_value());
  std::string pseudonym = PseudonymOf("p1");
  auto control_before = Dump(*h->control_backend);

  auto moved =
      relocations().Relocate(vault::RequestContext(), tenant, "p1", "us");
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  EXPECT_EQ(*moved, "us");

  // Nothing of p1 is left in eu but the keyless tombstone of its key entry;
  // key, records and both indexes are in us.
  EXPECT_FALSE(testing::HoldsAnything(*h->eu_backend, pseudonym));
  EXPECT_TRUE(AnyKeyContains(*h->eu_backend, pseudonym));  // the tombstone
  EXPECT_FALSE(AnyKeyContains(*h->eu_backend, r1.id));
  EXPECT_FALSE(AnyKeyContains(*h->eu_backend, r2.id));
  EXPECT_TRUE(AnyKeyContains(*h->eu_backend, other.id));
  EXPECT_TRUE(
      AnyKeyContains(*h->us_backend, keys::PrincipalKey("acme", pseudonym)));
  EXPECT_TRUE(AnyKeyContains(*h->us_backend, keys::Record("acme", r1.id)));
  EXPECT_TRUE(AnyKeyContains(*h->us_backend,
                             keys::PrincipalRecord("acme", pseudonym, r2.id)));
  EXPECT_TRUE(AnyKeyContains(*h->us_backend, "bidx/acme/customers/email/"));
  EXPECT_FALSE(AnyKeyContains(*h->control_backend, keys::RelocationPrefix()));

  // Reads, search, tokens and the principal view follow it.
  auto got = records().Get(vault::RequestContext(), tenant, "customers", r1.id,
                           std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->region, "us");
  EXPECT_EQ(got->principal, "p1");
  EXPECT_EQ(EmailOf(r1.id), "mover@example.com");
  EXPECT_EQ(SearchHits("MOVER@example.com"), 1u);
  auto target = records().ResolveToken(tenant, tokens->at("ssn"));
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->record_id, r1.id);
  auto view = records().GetPrincipal(vault::RequestContext(), tenant, "p1");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->region, "us");
  EXPECT_EQ(view->records.size(), 2u);

  // And it is writable again, in its new home only.
  auto updated =
      records().Update(vault::RequestContext(), tenant, collection, r1.id,
                       {{"email", std::string("new@example.com")}});
  ASSERT_TRUE(updated.has_value()) << updated.error().ToString();
  EXPECT_EQ(SearchHits("new@example.com"), 1u);
  EXPECT_EQ(SearchHits("mover@example.com"), 0u);
  EXPECT_EQ(MustCreate("p1", "third@example.com").region, "us");
  EXPECT_EQ(Create("p1", "x@example.com", "eu").error().reason(), "conflict");
  EXPECT_TRUE(records()
                  .Delete(vault::RequestContext(), tenant, "customers", r2.id)
                  .ok());
}

TEST_F(ResidencyTest, RelocationRefusesWhatItMustNotDo) {
  MustCreate("p1", "a@example.com");
  auto eu_before = Dump(*h->eu_backend);
  auto us_before = Dump(*h->us_backend);
  auto control_before = Dump(*h->control_backend);
  EXPECT_EQ(relocations()
                .Relocate(vault::RequestContext(), tenant, "p1", "mars")
                .error()
                .reason(),
            "region_not_allowed");
  EXPECT_EQ(relocations()
                .Relocate(vault::RequestContext(), tenant, "nobody", "us")
                .error()
                .code(),
            StatusCode::kNotFound);
  auto only_eu = h->vault->tenants.Create(vault::RequestContext(), "solo",
                                          "Solo", {"eu"}, "eu");
  ASSERT_TRUE(only_eu.has_value());
  EXPECT_EQ(relocations()
                .Relocate(vault::RequestContext(), *only_eu, "p1", "us")
                .error()
                .reason(),
            "region_not_allowed");
  EXPECT_EQ(Dump(*h->eu_backend), eu_before);
  EXPECT_EQ(Dump(*h->us_backend), us_before);
}

TEST_F(ResidencyTest, InterruptedRelocationKeepsDataReadableAndWritesOut) {
  auto r1 = MustCreate("p1", "frozen@example.com");
  auto r2 = MustCreate("p2", "free@example.com");
  h->faults.down.insert(h->us_store);
  auto moved =
      relocations().Relocate(vault::RequestContext(), tenant, "p1", "us");
  ASSERT_FALSE(moved.has_value());
  EXPECT_EQ(moved.error().code(), StatusCode::kUnavailable);

  // p1 is frozen in eu: readable, not writable; p2 is unaffected.
  EXPECT_EQ(EmailOf(r1.id), "frozen@example.com");
  auto update =
      records().Update(vault::RequestContext(), tenant, collection, r1.id,
                       {{"name", std::string("Changed Name")}});
  ASSERT_FALSE(update.has_value());
  EXPECT_EQ(update.error().reason(), "conflict");
  EXPECT_EQ(Create("p1", "more@example.com").error().reason(), "conflict");
  EXPECT_EQ(records()
                .Delete(vault::RequestContext(), tenant, "customers", r1.id)
                .reason(),
            "conflict");
  EXPECT_TRUE(records()
                  .Update(vault::RequestContext(), tenant, collection, r2.id,
                          {{"name", std::string("Still Free")}})
                  .has_value());

  // Once us is back, the move is finished at startup.
  h->faults.down.clear();
  auto resumed = relocations().ResumeInterrupted();
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ(*resumed, 1);
  auto got = records().Get(vault::RequestContext(), tenant, "customers", r1.id,
                           std::nullopt);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->region, "us");
  EXPECT_TRUE(records()
                  .Update(vault::RequestContext(), tenant, collection, r1.id,
                          {{"name", std::string("Changed Name")}})
                  .has_value());
  EXPECT_EQ(relocations().ResumeInterrupted().value_or(-1), 0);
}

// Fails the k-th write of a relocation for every k, then resumes it: at no
// point is the data lost, duplicated in search, or left in both regions.
TEST_F(ResidencyTest, FailureAtEveryWriteIsResumedWithoutLoss) {
  int failure_points = 0;
  for (int k = 1; k < 50; ++k) {
    Build();
    std::vector<Record> created;
    for (int i = 0; i < 3; ++i)
      created.push_back(
          MustCreate("p1", "u" + std::to_string(i) + "@example.com"));
    MustCreate("p2", "bystander@example.com");
    std::string pseudonym = PseudonymOf("p1");

    h->faults.fail_write_in = k;
    auto moved =
        relocations().Relocate(vault::RequestContext(), tenant, "p1", "us");
    h->faults.fail_write_in = 0;
    if (moved.has_value()) break;  // k is past the relocation's last write
    ++failure_points;
    SCOPED_TRACE("write " + std::to_string(k) + " failed");

    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(EmailOf(created[i].id),
                "u" + std::to_string(i) + "@example.com");
      EXPECT_EQ(SearchHits("u" + std::to_string(i) + "@example.com"), 1u);
    }
    // Resume half of the cases at "startup", the rest by asking again.
    if (k % 2 == 0) {
      auto resumed = relocations().ResumeInterrupted();
      ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
    } else {
      auto again =
          relocations().Relocate(vault::RequestContext(), tenant, "p1", "us");
      ASSERT_TRUE(again.has_value()) << again.error().ToString();
    }
    auto view = records().GetPrincipal(vault::RequestContext(), tenant, "p1");
    ASSERT_TRUE(view.has_value());
    // The first write is the move's own record: failing it means no move.
    if (view->region == "eu") {
      EXPECT_EQ(k, 1);
      ASSERT_TRUE(relocations()
                      .Relocate(vault::RequestContext(), tenant, "p1", "us")
                      .has_value());
    }
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(EmailOf(created[i].id),
                "u" + std::to_string(i) + "@example.com");
      EXPECT_EQ(SearchHits("u" + std::to_string(i) + "@example.com"), 1u);
    }
    EXPECT_FALSE(testing::HoldsAnything(*h->eu_backend, pseudonym));
    EXPECT_FALSE(AnyKeyContains(*h->control_backend, keys::RelocationPrefix()));
    using M = std::map<std::string, Count>;
    EXPECT_EQ(Counts(), (M{{"eu", {1, 1}}, {"us", {1, 3}}}));
  }
  // move record, freeze, copy, switch, activate, purge, done.
  EXPECT_GE(failure_points, 7);
}

TEST_F(ResidencyTest, RegionLeavesTenantOnlyWhenEmpty) {
  MustCreate("p1", "a@example.com", "us");
  auto refused =
      h->vault->tenants.Update(vault::RequestContext(), "acme", OnlyEu());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  auto stored = h->vault->tenants.Get(vault::RequestContext(), "acme");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->regions, (std::vector<std::string>{"eu", "us"}));
  EXPECT_TRUE(stored->closing_regions.empty());
  // The refused change left us open to new principals.
  EXPECT_EQ(MustCreate("p2", "b@example.com", "us").region, "us");

  ASSERT_TRUE(relocations()
                  .Relocate(vault::RequestContext(), tenant, "p1", "eu")
                  .has_value());
  ASSERT_TRUE(relocations()
                  .Relocate(vault::RequestContext(), tenant, "p2", "eu")
                  .has_value());
  auto shrunk =
      h->vault->tenants.Update(vault::RequestContext(), "acme", OnlyEu());
  ASSERT_TRUE(shrunk.has_value()) << shrunk.error().ToString();
  EXPECT_EQ(shrunk->regions, (std::vector<std::string>{"eu"}));
  EXPECT_TRUE(shrunk->closing_regions.empty());
  tenant = *shrunk;
  EXPECT_EQ(Create("p3", "c@example.com", "us").error().reason(),
            "region_not_allowed");
}

// The target leaves the tenant's regions while a relocation is interrupted
// before its switch: finishing it must give the principal back to its source,
// whole and writable, and leave nothing in the target.
TEST_F(ResidencyTest, RelocationIsAbandonedWhenTheTargetIsClosed) {
  auto r1 = MustCreate("p1", "back@example.com");
  MustCreate("p1", "back2@example.com");
  std::string pseudonym = PseudonymOf("p1");
  h->faults.fail_write_in = 4;  // start, freeze, copy, then the switch fails
  ASSERT_FALSE(relocations()
                   .Relocate(vault::RequestContext(), tenant, "p1", "us")
                   .has_value());
  EXPECT_TRUE(AnyKeyContains(*h->us_backend, pseudonym));  // the copy
  // us has no principal yet (the switch did not happen), so it may go.
  auto shrunk =
      h->vault->tenants.Update(vault::RequestContext(), "acme", OnlyEu());
  ASSERT_TRUE(shrunk.has_value()) << shrunk.error().ToString();
  tenant = *shrunk;

  auto resumed = relocations().ResumeInterrupted();
  ASSERT_FALSE(resumed.has_value());
  EXPECT_EQ(resumed.error().reason(), "region_not_allowed");
  EXPECT_FALSE(AnyKeyContains(*h->us_backend, pseudonym));
  EXPECT_FALSE(AnyKeyContains(*h->control_backend, keys::RelocationPrefix()));
  EXPECT_EQ(EmailOf(r1.id), "back@example.com");
  EXPECT_TRUE(records()
                  .Update(vault::RequestContext(), tenant, collection, r1.id,
                          {{"name", std::string("Writable Again")}})
                  .has_value());
  using M = std::map<std::string, Count>;
  EXPECT_EQ(Counts(), (M{{"eu", {1, 2}}}));
  EXPECT_EQ(h->us_backend->SumCounters("count/acme/").value_or(-1), 0);
}

TEST_F(ResidencyTest, RegionDownAffectsOnlyItsPrincipals) {
  auto in_eu = MustCreate("p-eu", "eu@example.com");
  auto in_us = MustCreate("p-us", "us@example.com", "us");
  h->faults.down.insert(h->us_store);
  auto control_before = Dump(*h->control_backend);

  EXPECT_EQ(EmailOf(in_eu.id), "eu@example.com");
  EXPECT_TRUE(MustCreate("p-eu", "eu2@example.com").id.size() > 0);
  EXPECT_EQ(records()
                .Get(vault::RequestContext(), tenant, "customers", in_us.id,
                     std::nullopt)
                .error()
                .code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(records()
                .Delete(vault::RequestContext(), tenant, "customers", in_us.id)
                .code(),
            StatusCode::kUnavailable);
  // A new principal for the down region is not even placed.
  control_before = Dump(*h->control_backend);
  EXPECT_EQ(Create("p-new", "n@example.com", "us").error().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(Dump(*h->control_backend), control_before);
  // A search that cannot look everywhere fails instead of answering part.
  EXPECT_EQ(records()
                .Search(vault::RequestContext(), tenant, collection, "email",
                        std::string("eu@example.com"), 10)
                .error()
                .code(),
            StatusCode::kUnavailable);
  auto counts = Counts();
  EXPECT_EQ(counts["eu"], (Count{1, 2}));
  EXPECT_EQ(counts["us"], (Count{1, std::nullopt}));

  h->faults.down.clear();
  EXPECT_EQ(EmailOf(in_us.id), "us@example.com");
  EXPECT_EQ(Counts()["us"], (Count{1, 1}));
}

TEST_F(ResidencyTest, ConcurrentWritersKeepCountsExact) {
  constexpr int kThreads = 8, kEach = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = Create("p" + std::to_string(t * 3 + i % 3),
                        "x" + std::to_string(i) + "@example.com",
                        t % 2 ? "us" : "eu");
        if (r && i % 4 == 0) {
          EXPECT_TRUE(
              records()
                  .Delete(vault::RequestContext(), tenant, "customers", r->id)
                  .ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // Ground truth from the stores themselves.
  auto records_in = [&](storage::Backend& b) {
    int64_t n = 0;
    for (auto& kv : Dump(b)) n += kv.key.starts_with("rec/acme/");
    return n;
  };
  using M = std::map<std::string, Count>;
  EXPECT_EQ(Counts(), (M{{"eu", {12, records_in(*h->eu_backend)}},
                         {"us", {12, records_in(*h->us_backend)}}}));
  EXPECT_EQ(records_in(*h->eu_backend) + records_in(*h->us_backend),
            kThreads * kEach - kThreads * (kEach / 4));
}

}  // namespace
}  // namespace piivault::vault
