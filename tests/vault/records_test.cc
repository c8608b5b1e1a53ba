#include "vault/records.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <thread>

#include "crypto/aead.h"
#include "storage/sqlite/sqlite_backend.h"
#include "support/temp_dir.h"
#include "vault/record_envelope.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::Dump;
using testing::Peek;
using testing::Poke;
using testing::VaultHarness;

class RecordServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_EQ(tenant.id, "acme");
    auto c =
        h.vault->collections.Put(vault::RequestContext(), "acme", "customers",
                                 {{"email", FieldType::kEmail, true, true},
                                  {"name", FieldType::kName, false, true},
                                  {"phone", FieldType::kPhone, false, false},
                                  {"age", FieldType::kInteger, false, false},
                                  {"vip", FieldType::kBoolean, false, false}},
                                 "");
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    collection = c->collection;
  }

  Record MustCreate(std::string_view principal, const Fields& fields,
                    std::optional<std::string> region = std::nullopt) {
    auto r = records().Create(vault::RequestContext(), tenant, collection,
                              principal, region, fields);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(Record{});
  }

  RecordService& records() { return h.vault->records; }

  VaultHarness h;
  Tenant tenant;
  Collection collection;
};

Fields Alice() {
  return {{"email", std::string("Alice.Liddell@Example.COM")},
          {"name", std::string("Alice  Liddell")},
          {"phone", std::string("+49 151 1234 5678")},
          {"age", int64_t{34}},
          {"vip", true}};
}

TEST_F(RecordServiceTest, CreateThenGetReturnsNormalizedTypedValues) {
  Record created = MustCreate("user-1", Alice());
  EXPECT_TRUE(created.id.starts_with("rec_"));
  EXPECT_EQ(created.region, "eu");

  auto got = records().Get(vault::RequestContext(), tenant, "customers",
                           created.id, std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->principal, "user-1");
  ASSERT_EQ(got->fields.size(), 5u);
  EXPECT_EQ(got->fields[0],
            (std::pair<std::string, FieldValue>{
                "email", std::string("Alice.Liddell@example.com")}));
  EXPECT_EQ(got->fields[1].second, FieldValue(std::string("Alice Liddell")));
  EXPECT_EQ(got->fields[2].second, FieldValue(std::string("+4915112345678")));
  EXPECT_EQ(got->fields[3].second, FieldValue(int64_t{34}));
  EXPECT_EQ(got->fields[4].second, FieldValue(true));

  auto only = records().Get(vault::RequestContext(), tenant, "customers",
                            created.id, std::vector<std::string>{"age"});
  ASSERT_TRUE(only.has_value());
  ASSERT_EQ(only->fields.size(), 1u);
  EXPECT_EQ(only->fields[0].first, "age");
}

// A record read after the record was written or read once takes one read of
// its region's store: the record and its principal's key entry together.
TEST_F(RecordServiceTest, AKnownRecordIsReadWithItsKeyInOneRead) {
  Record created = MustCreate("user-1", Alice());
  RecordService fresh(h.router.get(), &h.vault->control, &h.clock);
  for (RecordService* service : {&records(), &fresh}) {
    for (int i = 0; i < 2; ++i) {
      h.faults.reads.clear();
      auto got = service->Get(vault::RequestContext(), tenant, "customers",
                              created.id, std::nullopt);
      ASSERT_TRUE(got.has_value()) << got.error().ToString();
      EXPECT_EQ(got->principal, "user-1");
      // Created by this service, or read by it once before: one read.
      const bool known = service == &records() || i > 0;
      EXPECT_EQ(h.faults.reads[h.eu_store], known ? 1 : 2) << i;
    }
  }
}

// The principal remembered for a record id is only a hint: an id deleted and
// imported again for another principal reads as the new principal's.
TEST_F(RecordServiceTest, ARememberedPrincipalIsCheckedAgainstTheRecord) {
  Record first = MustCreate("user-1", Alice());
  ASSERT_TRUE(
      records()
          .Delete(vault::RequestContext(), tenant, "customers", first.id)
          .ok());
  // Through another node's service: this one still remembers user-1.
  RecordService other(h.router.get(), &h.vault->control, &h.clock);
  auto again = other.Create(vault::RequestContext(), tenant, collection,
                            "user-2", std::nullopt, Alice(), first.id);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  auto got = records().Get(vault::RequestContext(), tenant, "customers",
                           first.id, std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->principal, "user-2");
}

TEST_F(RecordServiceTest, StoresNoPlaintextAndNoPiiInKeys) {
  MustCreate("principal-zebulon", Alice());
  for (auto* backend : {static_cast<storage::Backend*>(h.control_backend),
                        static_cast<storage::Backend*>(h.eu_backend),
                        static_cast<storage::Backend*>(h.us_backend)}) {
    for (auto& kv : Dump(*backend)) {
      for (std::string_view needle :
           {"Liddell", "liddell", "example.com", "Example.COM", "4915112345678",
            "principal-zebulon"}) {
        EXPECT_EQ(kv.key.find(needle), std::string::npos) << kv.key;
        EXPECT_EQ(kv.value.find(needle), std::string::npos) << kv.key;
      }
    }
  }
}

TEST_F(RecordServiceTest, ValueMovedToAnotherRecordIsAnIntegrityError) {
  Record a = MustCreate("user-1", Alice());
  Record b = MustCreate("user-1", {{"email", std::string("bob@example.com")}});
  // Same principal, so the same key: only the AAD binding can catch this.
  auto a_bytes = h.eu_backend->Get("rec/acme/" + a.id);
  ASSERT_TRUE(a_bytes.has_value() && a_bytes->has_value());
  storage::WriteBatch tamper;
  tamper.Put("rec/acme/" + b.id, **a_bytes);
  ASSERT_TRUE(h.eu_backend->Write(tamper).ok());

  auto got = records().Get(vault::RequestContext(), tenant, "customers", b.id,
                           std::nullopt);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kDataLoss);
  EXPECT_EQ(got.error().message().find("Liddell"), std::string::npos);
  // The untouched record still reads.
  EXPECT_TRUE(
      records()
          .Get(vault::RequestContext(), tenant, "customers", a.id, std::nullopt)
          .has_value());
}

TEST_F(RecordServiceTest, FlippedCiphertextByteIsAnIntegrityError) {
  Record a = MustCreate("user-1", Alice());
  std::string key = "rec/acme/" + a.id;
  std::string bytes = **h.eu_backend->Get(key);
  bytes[bytes.size() - 10] ^= 0x01;  // inside the last field's GCM tag
  storage::WriteBatch tamper;
  tamper.Put(key, bytes);
  ASSERT_TRUE(h.eu_backend->Write(tamper).ok());
  auto got = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                           std::nullopt);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kDataLoss);
}

// A database writer without the master key edits envelopes: every field
// entry and every piece of metadata is bound to the envelope's sealed
// principal id (its AAD), so any change is an integrity error on every path
// that reads the record, and never returns data.
class EnvelopeIntegrityTest : public RecordServiceTest {
 protected:
  RecordEnvelope Stored(const std::string& id) {
    auto e = RecordEnvelope::Decode(Peek(*h.eu_backend, "rec/acme/" + id));
    EXPECT_TRUE(e.has_value());
    return e.value_or(RecordEnvelope{});
  }
  void Store(const std::string& id, const RecordEnvelope& e) {
    Poke(*h.eu_backend, "rec/acme/" + id, e.Encode());
  }
  // Every read of record `id` (of user-1, with email alice's) fails its
  // integrity check.
  void ExpectEveryReadRefused(const std::string& id) {
    auto refused = [](const Status& s) {
      return s.code() == StatusCode::kDataLoss;
    };
    EXPECT_TRUE(refused(
        records()
            .Get(vault::RequestContext(), tenant, "customers", id, std::nullopt)
            .error()));
    EXPECT_TRUE(refused(records()
                            .Get(vault::RequestContext(), tenant, "customers",
                                 id, std::vector<std::string>{"email"})
                            .error()));
    EXPECT_TRUE(refused(records()
                            .Tokenize(vault::RequestContext(), tenant,
                                      collection, id, {"email"})
                            .error()));
    EXPECT_TRUE(
        refused(records()
                    .GetPrincipal(vault::RequestContext(), tenant, "user-1")
                    .error()));
    EXPECT_TRUE(refused(
        records()
            .Search(vault::RequestContext(), tenant, collection, "email",
                    std::string("alice.liddell@example.com"), 10)
            .error()));
    EXPECT_TRUE(refused(records()
                            .Update(vault::RequestContext(), tenant, collection,
                                    id, {{"vip", false}})
                            .error()));
  }
};

TEST_F(EnvelopeIntegrityTest, ADroppedFieldEntryIsAnIntegrityError) {
  Record a = MustCreate("user-1", Alice());
  Record other = MustCreate("user-2", Alice());
  RecordEnvelope e = Stored(a.id);
  ASSERT_NE(e.Find("phone"), nullptr);
  std::erase_if(e.fields, [](auto& f) { return f.name == "phone"; });
  Store(a.id, e);
  ExpectEveryReadRefused(a.id);
  // An untouched record still reads.
  auto got = records().Get(vault::RequestContext(), tenant, "customers",
                           other.id, std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->fields.size(), 5u);
}

// Each value of the older copy opens (same record, same field), but the
// record never held this combination.
TEST_F(EnvelopeIntegrityTest, AFieldPutBackFromAnOlderCopyIsAnIntegrityError) {
  Record a = MustCreate("user-1", Alice());
  RecordEnvelope older = Stored(a.id);
  ASSERT_TRUE(records().Update(vault::RequestContext(), tenant, collection,
                               a.id, {{"phone", std::nullopt}}));
  RecordEnvelope now = Stored(a.id);
  ASSERT_EQ(now.Find("phone"), nullptr);
  now.fields.push_back(*older.Find("phone"));
  Store(a.id, now);
  ExpectEveryReadRefused(a.id);
}

TEST_F(EnvelopeIntegrityTest, AlteredMetadataIsAnIntegrityError) {
  Record a = MustCreate("user-1", Alice());
  const RecordEnvelope original = Stored(a.id);
  std::vector<std::function<void(RecordEnvelope&)>> edits = {
      [](RecordEnvelope& e) { e.created_us -= 1'000'000; },
      [](RecordEnvelope& e) { e.updated_us += 1; },
      [](RecordEnvelope& e) { e.Find("age")->type = FieldType::kString; },
      [](RecordEnvelope& e) { e.Find("phone")->blind_hash = "00"; },
      [](RecordEnvelope& e) { std::swap(e.fields[0], e.fields[1]); },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE(i);
    RecordEnvelope e = original;
    edits[i](e);
    Store(a.id, e);
    auto got = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                             std::nullopt);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code(), StatusCode::kDataLoss);
  }
  Store(a.id, original);
  EXPECT_TRUE(records().Get(vault::RequestContext(), tenant, "customers", a.id,
                            std::nullopt));
}

// Swapped ciphertexts fail already on their AAD (tenant | collection |
// record | field); kept here next to the envelope's own check.
TEST_F(EnvelopeIntegrityTest, SwappedCiphertextsAreIntegrityErrors) {
  Record a = MustCreate("user-1", Alice());
  Record b = MustCreate("user-1", Alice());
  const RecordEnvelope ea = Stored(a.id), eb = Stored(b.id);
  // Between two fields of one record.
  RecordEnvelope e = ea;
  std::swap(e.Find("email")->sealed, e.Find("name")->sealed);
  Store(a.id, e);
  ExpectEveryReadRefused(a.id);
  // One field between two records of the same principal (the same key).
  RecordEnvelope e1 = ea, e2 = eb;
  std::swap(e1.Find("email")->sealed, e2.Find("email")->sealed);
  Store(a.id, e1);
  Store(b.id, e2);
  for (auto& id : {a.id, b.id}) {
    auto got = records().Get(vault::RequestContext(), tenant, "customers", id,
                             std::nullopt);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code(), StatusCode::kDataLoss);
  }
  Store(a.id, ea);
  Store(b.id, eb);
  EXPECT_TRUE(records().Get(vault::RequestContext(), tenant, "customers", a.id,
                            std::nullopt));
  EXPECT_TRUE(records().Get(vault::RequestContext(), tenant, "customers", b.id,
                            std::nullopt));
}

// A version 2 envelope relabelled as a version 1 one (whose field list is
// not checked) to drop a field: its sealed principal id does not open as a
// version 1 one.
TEST_F(EnvelopeIntegrityTest, AnEnvelopeRelabelledAsLegacyIsAnIntegrityError) {
  Record a = MustCreate("user-1", Alice());
  RecordEnvelope e = Stored(a.id);
  EXPECT_EQ(e.version, RecordEnvelope::kVersion);
  e.version = RecordEnvelope::kLegacyVersion;
  Store(a.id, e);
  ExpectEveryReadRefused(a.id);
  std::erase_if(e.fields, [](auto& f) { return f.name == "phone"; });
  Store(a.id, e);
  ExpectEveryReadRefused(a.id);
}

// Envelopes written before the check existed still read, and an update
// makes them checked ones.
TEST_F(EnvelopeIntegrityTest, LegacyEnvelopesReadAndAreCheckedAfterAnUpdate) {
  Record a = MustCreate("user-1", Alice());
  auto pseudonym = records().Pseudonym(tenant, "user-1");
  ASSERT_TRUE(pseudonym.has_value());
  crypto::SecretBytes key =
      testing::PrincipalKeyOf(h, *h.eu_backend, "acme", *pseudonym);
  // As version 1 wrote it: the principal id alone, in a field's AAD with a
  // slot no field can have.
  RecordEnvelope legacy = Stored(a.id);
  legacy.version = RecordEnvelope::kLegacyVersion;
  using namespace std::string_literals;
  legacy.sealed_principal = crypto::AeadSeal(
      key, 1, "user-1", "f\0acme\0customers\0"s + a.id + "\0$principal"s);
  Store(a.id, legacy);
  auto got = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                           std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->principal, "user-1");
  EXPECT_EQ(got->fields.size(), 5u);
  auto view = records().GetPrincipal(vault::RequestContext(), tenant, "user-1");
  ASSERT_TRUE(view.has_value()) << view.error().ToString();

  ASSERT_TRUE(records().Update(vault::RequestContext(), tenant, collection,
                               a.id, {{"vip", false}}));
  EXPECT_EQ(Stored(a.id).version, RecordEnvelope::kVersion);
  got = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                      std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->principal, "user-1");
  RecordEnvelope e = Stored(a.id);
  std::erase_if(e.fields, [](auto& f) { return f.name == "phone"; });
  Store(a.id, e);
  ExpectEveryReadRefused(a.id);
}

// The check binds what a relocation keeps: the envelope is copied as it is.
TEST_F(EnvelopeIntegrityTest, RelocatedEnvelopesKeepTheirCheck) {
  Record a = MustCreate("user-1", Alice());
  const std::string before = Peek(*h.eu_backend, "rec/acme/" + a.id);
  auto moved = h.vault->relocations.Relocate(vault::RequestContext(), tenant,
                                             "user-1", "us");
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  EXPECT_EQ(Peek(*h.us_backend, "rec/acme/" + a.id), before);
  auto got = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                           std::nullopt);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->region, "us");
  EXPECT_EQ(got->fields.size(), 5u);
  auto e = RecordEnvelope::Decode(before);
  ASSERT_TRUE(e.has_value());
  std::erase_if(e->fields, [](auto& f) { return f.name == "phone"; });
  Poke(*h.us_backend, "rec/acme/" + a.id, e->Encode());
  got = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                      std::nullopt);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kDataLoss);
}

TEST_F(RecordServiceTest, RecordsGoOnlyToTheirPrincipalsRegion) {
  Record eu = MustCreate("eu-user", Alice(), "eu");
  Record us =
      MustCreate("us-user", {{"email", std::string("u@example.us")}}, "us");
  EXPECT_EQ(us.region, "us");
  auto has = [](storage::Backend& b, const std::string& id) {
    for (auto& kv : Dump(b))
      if (kv.key.find(id) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(*h.eu_backend, eu.id));
  EXPECT_FALSE(has(*h.us_backend, eu.id));
  EXPECT_TRUE(has(*h.us_backend, us.id));
  EXPECT_FALSE(has(*h.eu_backend, us.id));
  EXPECT_FALSE(has(*h.control_backend, eu.id));
  // Reads find both wherever they live.
  EXPECT_EQ(records()
                .Get(vault::RequestContext(), tenant, "customers", us.id,
                     std::nullopt)
                ->region,
            "us");
}

TEST_F(RecordServiceTest, PrincipalStaysInItsRegion) {
  MustCreate("user-1", Alice(), "eu");
  auto moved = records().Create(vault::RequestContext(), tenant, collection,
                                "user-1", "us", Alice());
  ASSERT_FALSE(moved.has_value());
  EXPECT_EQ(moved.error().code(), StatusCode::kAborted);
  EXPECT_EQ(moved.error().reason(), "conflict");
  // Without a region the principal's own region is used.
  auto again = records().Create(vault::RequestContext(), tenant, collection,
                                "user-1", std::nullopt, Alice());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->region, "eu");
}

TEST_F(RecordServiceTest, RegionOutsideTenantListIsRefused) {
  auto narrow = h.vault->tenants.Create(vault::RequestContext(), "euonly", "",
                                        {"eu"}, "eu");
  ASSERT_TRUE(narrow.has_value());
  auto c = h.vault->collections.Put(
      vault::RequestContext(), "euonly", "c",
      {{"email", FieldType::kEmail, false, false}}, "");
  ASSERT_TRUE(c.has_value());
  auto r = records().Create(vault::RequestContext(), *narrow, c->collection,
                            "p", "us", {{"email", std::string("a@b.example")}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.error().reason(), "region_not_allowed");
  EXPECT_TRUE(Dump(*h.us_backend).empty());
}

TEST_F(RecordServiceTest, InvalidInputChangesNothing) {
  MustCreate("user-1", Alice());
  auto before_eu = Dump(*h.eu_backend);
  auto before_control = Dump(*h.control_backend);
  struct Case {
    Fields fields;
    std::string field;
  };
  std::vector<Case> cases = {
      {{{"email", std::string("not-an-email")}}, "email"},
      {{{"email", std::string("a@b.example")}, {"phone", std::string("12")}},
       "phone"},
      {{{"name", std::string("Only Name")}}, "email"},  // required missing
      {{{"email", std::string("a@b.example")}, {"nope", std::string("x")}},
       "nope"},
      {{{"email", std::string("a@b.example")}, {"age", std::string("x")}},
       "age"},
  };
  for (auto& c : cases) {
    for (const char* principal : {"user-1", "brand-new-user"}) {
      auto r = records().Create(vault::RequestContext(), tenant, collection,
                                principal, std::nullopt, c.fields);
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().reason(), "validation_failed");
      EXPECT_EQ(r.error().field(), c.field);
    }
  }
  EXPECT_EQ(Dump(*h.eu_backend), before_eu);
  EXPECT_EQ(Dump(*h.control_backend), before_control);
}

TEST_F(RecordServiceTest, SearchFollowsUpdatesAndDeletes) {
  Record a = MustCreate("user-1", Alice());
  MustCreate("user-2", {{"email", std::string("other@example.com")}});
  auto find = [&](std::string email) {
    auto r = records().Search(vault::RequestContext(), tenant, collection,
                              "email", email, 100);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    std::set<std::string> ids;
    for (auto& rec : r.value_or(std::vector<Record>{})) ids.insert(rec.id);
    return ids;
  };
  // Search normalizes like storage does (case of the whole address).
  EXPECT_EQ(find("alice.liddell@EXAMPLE.com"), std::set<std::string>{a.id});

  auto updated =
      records().Update(vault::RequestContext(), tenant, collection, a.id,
                       {{"email", FieldValue(std::string("new@example.com"))},
                        {"phone", std::nullopt}});
  ASSERT_TRUE(updated.has_value()) << updated.error().ToString();
  EXPECT_TRUE(find("alice.liddell@example.com").empty());
  EXPECT_EQ(find("new@example.com"), std::set<std::string>{a.id});
  for (auto& [name, value] : updated->fields) EXPECT_NE(name, "phone");

  auto not_searchable =
      records().Search(vault::RequestContext(), tenant, collection, "phone",
                       std::string("+4915112345678"), 10);
  ASSERT_FALSE(not_searchable.has_value());
  EXPECT_EQ(not_searchable.error().code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(records()
                  .Delete(vault::RequestContext(), tenant, "customers", a.id)
                  .ok());
  EXPECT_TRUE(find("new@example.com").empty());
  auto gone = records().Get(vault::RequestContext(), tenant, "customers", a.id,
                            std::nullopt);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), StatusCode::kNotFound);
  // No index entry of the deleted record is left behind.
  for (auto& kv : Dump(*h.eu_backend))
    EXPECT_EQ(kv.key.find(a.id), std::string::npos);
}

TEST_F(RecordServiceTest, RequiredFieldCannotBeRemoved) {
  Record a = MustCreate("user-1", Alice());
  auto r = records().Update(vault::RequestContext(), tenant, collection, a.id,
                            {{"email", std::nullopt}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field(), "email");
}

TEST_F(RecordServiceTest, TokensAreDeterministicAndTenantBound) {
  Record a = MustCreate("user-1", Alice());
  auto t1 = records().Tokenize(vault::RequestContext(), tenant, collection,
                               a.id, {"email", "phone"});
  auto t2 = records().Tokenize(vault::RequestContext(), tenant, collection,
                               a.id, {"email"});
  ASSERT_TRUE(t1.has_value() && t2.has_value());
  EXPECT_EQ(t1->at("email"), t2->at("email"));
  EXPECT_NE(t1->at("email"), t1->at("phone"));
  EXPECT_EQ(t1->at("email").find("Liddell"), std::string::npos);

  auto target = records().ResolveToken(tenant, t1->at("phone"));
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->record_id, a.id);
  EXPECT_EQ(target->field, "phone");

  auto other = h.vault->tenants.Create(vault::RequestContext(), "other", "",
                                       {"eu"}, "eu");
  ASSERT_TRUE(other.has_value());
  auto foreign = records().ResolveToken(*other, t1->at("email"));
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(records().ResolveToken(tenant, "tok_garbage").has_value());
}

TEST_F(RecordServiceTest, PrincipalViewListsAllRecords) {
  Record a = MustCreate("user-1", Alice());
  Record b =
      MustCreate("user-1", {{"email", std::string("second@example.com")}});
  MustCreate("user-2", {{"email", std::string("x@example.com")}});
  auto view = records().GetPrincipal(vault::RequestContext(), tenant, "user-1");
  ASSERT_TRUE(view.has_value()) << view.error().ToString();
  EXPECT_EQ(view->region, "eu");
  std::set<std::string> ids;
  for (auto& r : view->records) ids.insert(r.id);
  EXPECT_EQ(ids, (std::set<std::string>{a.id, b.id}));
  auto none = records().GetPrincipal(vault::RequestContext(), tenant, "nobody");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), StatusCode::kNotFound);
}

TEST_F(RecordServiceTest, ConcurrentFirstRecordsShareOnePrincipalKey) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<Result<Record>> results(kThreads);
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      results[i] = records().Create(vault::RequestContext(), tenant, collection,
                                    "racer", std::nullopt,
                                    {{"email", std::string("r@example.com")}});
    });
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_TRUE(records()
                    .Get(vault::RequestContext(), tenant, "customers", r->id,
                         std::nullopt)
                    .has_value());
  }
  int keys = 0;
  for (auto& kv : Dump(*h.eu_backend)) keys += kv.key.starts_with("pkey/");
  EXPECT_EQ(keys, 1);
  EXPECT_EQ(records()
                .GetPrincipal(vault::RequestContext(), tenant, "racer")
                ->records.size(),
            static_cast<size_t>(kThreads));
}

// A copied SQLite deployment opened with another master key yields errors,
// never data.
TEST(RecordServiceSqliteTest, OtherMasterKeyGetsNoData) {
  piivault::testing::ScopedTempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  auto open_router = [&] {
    auto control = storage::OpenBackend("sqlite://control.db", dir.path());
    auto eu = storage::OpenBackend("sqlite://eu.db", dir.path());
    auto us = storage::OpenBackend("sqlite://us.db", dir.path());
    EXPECT_TRUE(control && eu && us);
    std::map<std::string, std::unique_ptr<storage::Backend>> regions;
    regions.emplace("eu", std::move(*eu));
    regions.emplace("us", std::move(*us));
    return std::make_unique<storage::RegionRouter>(
        std::move(*control), testing::TwoRegions(), std::move(regions));
  };
  testing::FixedClock clock;
  std::string record_id;
  {
    auto router = open_router();
    crypto::Keyring keyring(crypto::RandomSecret(32), &router->control());
    ASSERT_TRUE(keyring.InitializeOrVerify().ok());
    services::Vault vault(router.get(), &keyring, &clock);
    auto t =
        vault.tenants.Create(vault::RequestContext(), "acme", "", {"eu"}, "eu");
    auto c =
        vault.collections.Put(vault::RequestContext(), "acme", "c",
                              {{"email", FieldType::kEmail, false, false}}, "");
    ASSERT_TRUE(t && c);
    auto r = vault.records.Create(
        vault::RequestContext(), *t, c->collection, "p", std::nullopt,
        {{"email", std::string("secret@example.com")}});
    ASSERT_TRUE(r.has_value());
    record_id = r->id;
  }
  {
    auto router = open_router();
    crypto::Keyring keyring(crypto::RandomSecret(32), &router->control());
    Status verified = keyring.InitializeOrVerify();
    EXPECT_EQ(verified.code(), StatusCode::kFailedPrecondition);
    // Even if a caller ignored that, nothing decrypts.
    services::Vault vault(router.get(), &keyring, &clock);
    auto keys = keyring.GetTenantKeys("acme");
    ASSERT_FALSE(keys.has_value());
    EXPECT_EQ(keys.error().code(), StatusCode::kDataLoss);
    auto tenant = vault.tenants.Get(vault::RequestContext(), "acme");
    ASSERT_FALSE(tenant.has_value());
    Tenant t;
    t.id = "acme";
    t.regions = {"eu"};
    t.default_region = "eu";
    auto got = vault.records.Get(vault::RequestContext(), t, "c", record_id,
                                 std::nullopt);
    ASSERT_FALSE(got.has_value());
    EXPECT_NE(got.error().code(), StatusCode::kOk);
  }
}

}  // namespace
}  // namespace piivault::vault
