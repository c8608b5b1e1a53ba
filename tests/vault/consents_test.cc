// The consent ledger at service level: grants and withdrawals in order with
// the state they lead to, kept sealed in the principal's region, carried by
// a relocation, and refused for unknown principals.
#include "vault/consents.h"

#include <gtest/gtest.h>

#include <set>

#include "crypto/aead.h"
#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::Dump;
using testing::Peek;
using testing::Poke;
using testing::VaultHarness;

class ConsentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_EQ(tenant.id, "acme");
    auto c =
        h.vault->collections.Put(vault::RequestContext(), "acme", "customers",
                                 {{"email", FieldType::kEmail, true, true},
                                  {"plan", FieldType::kString, false, true}},
                                 "");
    ASSERT_TRUE(c.has_value());
    customers = c->collection;
    auto r = h.vault->records.Create(vault::RequestContext(), tenant, customers,
                                     "Pat-1", std::nullopt,
                                     {{"email", std::string("p@example.org")}});
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    record = r->id;
    pseudonym = h.vault->records.Pseudonym(tenant, "Pat-1").value_or("");
    pkey = keys::PrincipalKey("acme", pseudonym);
    marketing = *h.vault->tenants.GetPurpose(vault::RequestContext(), "acme",
                                             "marketing");
    advertising = *h.vault->tenants.GetPurpose(vault::RequestContext(), "acme",
                                               "advertising");
  }

  Result<Record> CreateMember(const std::string& principal) {
    return h.vault->records.Create(
        vault::RequestContext(), tenant, customers, principal, std::nullopt,
        {{"email", std::string("member@example.org")},
         {"plan", std::string("gold")}});
  }

  // How a read of Pat-1's record under marketing ends.
  Status GetUnderMarketing() {
    auto got =
        h.vault->records.Get(vault::RequestContext(), tenant, "customers",
                             record, std::nullopt, "marketing");
    return got ? Status::Ok() : got.error();
  }

  Result<ConsentEvent> Give(const Purpose& p, bool granted,
                            std::string principal = "Pat-1") {
    return h.vault->consents.Record(vault::RequestContext(), tenant, principal,
                                    p, granted, "web_form",
                                    "form-submission-17");
  }

  VaultHarness h;
  Collection customers;
  std::string record;           // Pat-1's
  std::string pseudonym, pkey;  // Pat-1's, and its key entry's key
  Tenant tenant;
  Purpose marketing, advertising;
};

TEST_F(ConsentTest, GrantsAndWithdrawalsFormALedgerAndItsCurrentState) {
  EXPECT_TRUE(
      h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1")
          ->empty());
  ASSERT_TRUE(Give(marketing, true));
  h.clock.now += std::chrono::seconds(5);
  ASSERT_TRUE(Give(advertising, true));
  EXPECT_EQ(
      *h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1"),
      (vault::Consents{{"advertising", true}, {"marketing", true}}));
  // Withdrawal is effective at once.
  auto withdrawn = Give(marketing, false);
  ASSERT_TRUE(withdrawn.has_value());
  EXPECT_EQ(withdrawn->seq, 2u);
  EXPECT_EQ(h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1")
                ->at("marketing"),
            false);

  auto ledger =
      h.vault->consents.Ledger(vault::RequestContext(), tenant, "Pat-1");
  ASSERT_TRUE(ledger.has_value()) << ledger.error().ToString();
  ASSERT_EQ(ledger->history.size(), 3u);
  EXPECT_EQ(ledger->history[0].purpose, "marketing");
  EXPECT_TRUE(ledger->history[0].granted);
  EXPECT_EQ(ledger->history[0].method, "web_form");
  EXPECT_EQ(ledger->history[0].evidence, "form-submission-17");
  EXPECT_EQ(ledger->history[1].at - ledger->history[0].at,
            std::chrono::seconds(5));
  EXPECT_FALSE(ledger->history[2].granted);
  EXPECT_EQ(ledger->current,
            (vault::Consents{{"advertising", true}, {"marketing", false}}));
}

TEST_F(ConsentTest, LedgerIsSealedInThePrincipalsRegionOnly) {
  ASSERT_TRUE(Give(marketing, true));
  bool found = false;
  for (auto& kv : Dump(*h.eu_backend)) {
    if (!kv.key.starts_with("consent/") && !kv.key.starts_with("pkey/"))
      continue;
    found = true;
    EXPECT_EQ(kv.value.find("marketing"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.value.find("form-submission"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.key.find("Pat-1"), std::string::npos) << kv.key;
  }
  EXPECT_TRUE(found);
  for (auto& kv : Dump(*h.us_backend))
    EXPECT_FALSE(kv.key.starts_with("consent/") || kv.key.starts_with("pkey/"))
        << kv.key;
}

TEST_F(ConsentTest, RelocationCarriesTheLedger) {
  ASSERT_TRUE(Give(marketing, true));
  ASSERT_TRUE(Give(marketing, false));
  auto moved = h.vault->relocations.Relocate(vault::RequestContext(), tenant,
                                             "Pat-1", "us");
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  auto ledger =
      h.vault->consents.Ledger(vault::RequestContext(), tenant, "Pat-1");
  ASSERT_TRUE(ledger.has_value()) << ledger.error().ToString();
  EXPECT_EQ(ledger->history.size(), 2u);
  EXPECT_EQ(ledger->current.at("marketing"), false);
  EXPECT_FALSE(testing::HoldsAnything(
      *h.eu_backend, *h.vault->records.Pseudonym(tenant, "Pat-1")));
  // And it keeps growing in its new home.
  ASSERT_TRUE(Give(marketing, true));
  EXPECT_EQ(h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1")
                ->at("marketing"),
            true);
}

TEST_F(ConsentTest, UnknownPrincipalsAndBadInputChangeNothing) {
  auto before = Dump(*h.eu_backend);
  EXPECT_EQ(Give(marketing, true, "Nobody").error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(h.vault->consents
                .Record(vault::RequestContext(), tenant, "Pat-1", marketing,
                        true, std::string(65, 'm'), "")
                .error()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Dump(*h.eu_backend), before);
  EXPECT_EQ(h.vault->consents.Current(vault::RequestContext(), tenant, "Nobody")
                .error()
                .code(),
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
  EXPECT_EQ(h.vault->consents.Ledger(vault::RequestContext(), tenant, "Pat-1")
                .error()
                .code(),
            StatusCode::kDataLoss);
}

// A database writer without the master key puts back the principal's key
// entry as it was before a withdrawal: the sealed state in it still opens,
// but the ledger holds the withdrawal after it.
TEST_F(ConsentTest, AnOlderConsentStatePutBackIsAnIntegrityError) {
  ASSERT_TRUE(Give(marketing, true));
  const std::string granted = Peek(*h.eu_backend, pkey);
  ASSERT_TRUE(Give(marketing, false));
  Poke(*h.eu_backend, pkey, granted);

  auto& records = h.vault->records;
  auto integrity = [](const Status& s) {
    return s.code() == StatusCode::kDataLoss;
  };
  EXPECT_TRUE(integrity(GetUnderMarketing()));
  EXPECT_TRUE(
      integrity(records
                    .Update(vault::RequestContext(), tenant, customers, record,
                            {{"plan", std::string("gold")}}, "marketing")
                    .error()));
  EXPECT_TRUE(integrity(records.Delete(vault::RequestContext(), tenant,
                                       "customers", record, "marketing")));
  EXPECT_TRUE(integrity(records
                            .Tokenize(vault::RequestContext(), tenant,
                                      customers, record, {"email"}, "marketing")
                            .error()));
  EXPECT_TRUE(integrity(
      records
          .GetPrincipal(vault::RequestContext(), tenant, "Pat-1", "marketing")
          .error()));
  EXPECT_TRUE(
      integrity(records
                    .Search(vault::RequestContext(), tenant, customers, "email",
                            std::string("p@example.org"), 10, "marketing")
                    .error()));
  // What shows the consents checks them whatever the purpose.
  EXPECT_TRUE(integrity(
      records.GetPrincipal(vault::RequestContext(), tenant, "Pat-1").error()));
  EXPECT_TRUE(integrity(
      h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1")
          .error()));
  EXPECT_TRUE(integrity(
      h.vault->consents.Ledger(vault::RequestContext(), tenant, "Pat-1")
          .error()));
  // Nor does a new event build on it.
  EXPECT_TRUE(integrity(Give(marketing, true).error()));
  // A purpose that needs no consent does not look at the ledger.
  EXPECT_TRUE(records.Get(vault::RequestContext(), tenant, "customers", record,
                          std::nullopt));
  // And a state that does not grant the purpose is refused without it.
  auto other = records.Get(vault::RequestContext(), tenant, "customers", record,
                           std::nullopt, "advertising");
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().reason(), "consent_required");
}

// The state names the ledger's newest event; with that event gone the two
// no longer match, which what shows or extends the consents reports. (A read
// under a consent purpose only checks that no event follows the state: the
// state itself is the newest, so it grants nothing it should not.)
TEST_F(ConsentTest, ANewestEventDeletedIsAnIntegrityError) {
  ASSERT_TRUE(Give(marketing, true));
  ASSERT_TRUE(Give(advertising, true));
  std::string newest;  // keys ascend with the sequence number
  for (auto& kv : Dump(*h.eu_backend))
    if (kv.key.starts_with("consent/")) newest = kv.key;
  ASSERT_FALSE(newest.empty());
  storage::WriteBatch b;
  b.Delete(newest);
  ASSERT_TRUE(h.eu_backend->Write(b).ok());
  EXPECT_EQ(h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1")
                .error()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(
      h.vault->records.GetPrincipal(vault::RequestContext(), tenant, "Pat-1")
          .error()
          .code(),
      StatusCode::kDataLoss);
  EXPECT_EQ(Give(marketing, false).error().code(), StatusCode::kDataLoss);
}

// A key entry without its consent state refuses every consent purpose (it
// grants nothing), and what shows the consents reports the mismatch.
TEST_F(ConsentTest, AStrippedConsentStateGrantsNothing) {
  ASSERT_TRUE(Give(marketing, true));
  auto entry = PrincipalKeyState::Decode(Peek(*h.eu_backend, pkey));
  ASSERT_TRUE(entry.has_value());
  entry->consents.clear();
  Poke(*h.eu_backend, pkey, entry->Encode());
  EXPECT_EQ(GetUnderMarketing().reason(), "consent_required");
  EXPECT_EQ(h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1")
                .error()
                .code(),
            StatusCode::kDataLoss);
}

// A consent change committed between reading the key entry and reading the
// ledger looks like an older state put back, until the entry is read again.
TEST_F(ConsentTest, AChangeBetweenTheTwoReadsIsNoRollback) {
  ASSERT_TRUE(Give(marketing, true));
  const std::string read = Peek(*h.eu_backend, pkey);
  crypto::SecretBytes key =
      testing::PrincipalKeyOf(h, *h.eu_backend, "acme", pseudonym);
  auto open = [&] {
    auto entry = PrincipalKeyState::Decode(read);
    EXPECT_TRUE(entry.has_value());
    auto state = ConsentState::Open(key, "acme", pseudonym, entry->consents);
    EXPECT_TRUE(state.has_value());
    return state.value_or(ConsentState{});
  };
  ConsentState state = open();
  ASSERT_TRUE(state.Allows("marketing"));
  ASSERT_TRUE(Give(marketing, false));  // meanwhile
  ASSERT_TRUE(CheckAgainstLedger(*h.eu_backend, key, "acme", pseudonym, read,
                                 state, LedgerDepth::kNothingAfter)
                  .ok());
  EXPECT_FALSE(state.Allows("marketing"));
  EXPECT_EQ(state.events, 2u);
  // The same two reads with the entry put back are a rollback.
  Poke(*h.eu_backend, pkey, read);
  state = open();
  EXPECT_EQ(CheckAgainstLedger(*h.eu_backend, key, "acme", pseudonym, read,
                               state, LedgerDepth::kNothingAfter)
                .code(),
            StatusCode::kDataLoss);
}

// States and events written before the state named the ledger's head still
// read; the next change carries the head on.
TEST_F(ConsentTest, LegacyStatesAndEventsStillRead) {
  crypto::SecretBytes key =
      testing::PrincipalKeyOf(h, *h.eu_backend, "acme", pseudonym);
  // As the earlier version wrote them: an event without "prev", and a state
  // without the head, under the state's first AAD.
  const std::string event_key = keys::ConsentEvent("acme", pseudonym, 0);
  Poke(*h.eu_backend, event_key,
       crypto::AeadSeal(key, 1,
                        R"({"seq":0,"purpose":"marketing","granted":true,)"
                        R"("at":1800000000000000,"method":"web_form",)"
                        R"("evidence":""})",
                        event_key));
  std::string plain;
  plain += '\x01';  // events
  plain += '\x01';  // one purpose
  plain += '\x09';
  plain += "marketing";
  plain += '\x01';  // granted
  std::string aad("consents\0acme\0", 14);
  aad += pseudonym;
  auto entry = PrincipalKeyState::Decode(Peek(*h.eu_backend, pkey));
  ASSERT_TRUE(entry.has_value());
  entry->consents = crypto::AeadSeal(key, 1, plain, aad);
  Poke(*h.eu_backend, pkey, entry->Encode());

  EXPECT_EQ(
      *h.vault->consents.Current(vault::RequestContext(), tenant, "Pat-1"),
      (Consents{{"marketing", true}}));
  EXPECT_TRUE(GetUnderMarketing().ok());
  ASSERT_TRUE(Give(marketing, false));
  auto ledger =
      h.vault->consents.Ledger(vault::RequestContext(), tenant, "Pat-1");
  ASSERT_TRUE(ledger.has_value()) << ledger.error().ToString();
  EXPECT_EQ(ledger->history.size(), 2u);
  EXPECT_EQ(ledger->current, (Consents{{"marketing", false}}));
  // Put back, the legacy state is caught like any older one.
  Poke(*h.eu_backend, pkey, entry->Encode());
  EXPECT_EQ(GetUnderMarketing().code(), StatusCode::kDataLoss);
}

// Reads and changes name the consent purpose they run under; the record
// service checks it from the principal's key entry before opening a value.
TEST_F(ConsentTest, RecordServiceServesOnlyWhileTheConsentIsActive) {
  auto& records = h.vault->records;
  auto refused = [](const Status& s) {
    return s.code() == StatusCode::kPermissionDenied &&
           s.reason() == "consent_required";
  };
  auto all_refused = [&] {
    return refused(records
                       .Get(vault::RequestContext(), tenant, "customers",
                            record, std::nullopt, "marketing")
                       .error()) &&
           refused(records
                       .Update(vault::RequestContext(), tenant, customers,
                               record, {{"plan", std::string("gold")}},
                               "marketing")
                       .error()) &&
           refused(records.Delete(vault::RequestContext(), tenant, "customers",
                                  record, "marketing")) &&
           refused(records
                       .Tokenize(vault::RequestContext(), tenant, customers,
                                 record, {"email"}, "marketing")
                       .error()) &&
           refused(records
                       .GetPrincipal(vault::RequestContext(), tenant, "Pat-1",
                                     "marketing")
                       .error());
  };
  EXPECT_TRUE(all_refused());  // never given
  // Without a consent purpose the consent state is not looked at.
  EXPECT_TRUE(records.Get(vault::RequestContext(), tenant, "customers", record,
                          std::nullopt));
  EXPECT_TRUE(records.GetPrincipal(vault::RequestContext(), tenant, "Pat-1"));
  // A principal that does not exist has consented to nothing.
  EXPECT_TRUE(refused(
      records
          .GetPrincipal(vault::RequestContext(), tenant, "Nobody", "marketing")
          .error()));

  ASSERT_TRUE(Give(advertising, true));
  EXPECT_TRUE(all_refused());  // another purpose's consent does not count
  ASSERT_TRUE(Give(marketing, true));
  auto got = records.Get(vault::RequestContext(), tenant, "customers", record,
                         std::nullopt, "marketing");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->fields.size(), 1u);
  auto view = records.GetPrincipal(vault::RequestContext(), tenant, "Pat-1",
                                   "marketing");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->consents,
            (Consents{{"advertising", true}, {"marketing", true}}));
  EXPECT_TRUE(records.Tokenize(vault::RequestContext(), tenant, customers,
                               record, {"email"}, "marketing"));
  EXPECT_TRUE(records.Update(vault::RequestContext(), tenant, customers, record,
                             {{"plan", std::string("gold")}}, "marketing"));

  ASSERT_TRUE(Give(marketing, false));
  EXPECT_TRUE(all_refused());  // withdrawn: the very next call
  EXPECT_TRUE(records.Get(vault::RequestContext(), tenant, "customers", record,
                          std::nullopt));
  ASSERT_TRUE(
      records.Delete(vault::RequestContext(), tenant, "customers", record)
          .ok());
}

// A search under a consent purpose leaves out the records of principals
// without that consent, and reads on past them until it has `limit` records.
TEST_F(ConsentTest, SearchReturnsOnlyConsentingPrincipalsUpToTheLimit) {
  std::set<std::string> consenting;
  for (int i = 0; i < 300; ++i) {
    std::string principal = "Member-" + std::to_string(i);
    ASSERT_TRUE(CreateMember(principal));
    if (i % 3 == 0) {
      ASSERT_TRUE(Give(marketing, true, principal));
      consenting.insert(principal);
    } else if (i % 3 == 1) {
      ASSERT_TRUE(Give(marketing, true, principal));
      ASSERT_TRUE(Give(marketing, false, principal));  // withdrawn
    }
  }
  auto search = [&](std::size_t limit, std::string_view purpose) {
    auto found =
        h.vault->records.Search(vault::RequestContext(), tenant, customers,
                                "plan", std::string("gold"), limit, purpose);
    EXPECT_TRUE(found.has_value()) << found.error().ToString();
    std::set<std::string> principals;
    for (auto& r : found.value_or(std::vector<Record>{})) {
      principals.insert(r.principal);
      EXPECT_EQ(r.fields.size(), 2u);
    }
    EXPECT_EQ(principals.size(), found ? found->size() : 0);
    return principals;
  };
  EXPECT_EQ(search(1000, "marketing"), consenting);
  EXPECT_EQ(search(1000, "").size(), 300u);
  EXPECT_EQ(search(1000, "advertising").size(), 0u);
  // All 100 consenting ones at a limit of 100: candidates are read 128 at a
  // time, so this reads on through three pages.
  EXPECT_EQ(search(100, "marketing"), consenting);
  auto first = search(10, "marketing");
  EXPECT_EQ(first.size(), 10u);
  for (auto& p : first) EXPECT_TRUE(consenting.contains(p)) << p;

  // Index entries name their record's principal, so consents are checked
  // before records are read; but the record decides. Entries naming nobody
  // (as written before they named anyone), or all naming one consenting
  // principal, give the same answer.
  auto rewrite_index = [&](const std::string& value) {
    storage::WriteBatch b;
    for (auto& kv : Dump(*h.eu_backend))
      if (kv.key.starts_with("bidx/")) b.Put(kv.key, value);
    ASSERT_TRUE(h.eu_backend->Write(b).ok());
  };
  rewrite_index("");
  EXPECT_EQ(search(1000, "marketing"), consenting);
  EXPECT_EQ(search(100, "marketing"), consenting);
  auto consenting_one = h.vault->records.Pseudonym(tenant, *consenting.begin());
  ASSERT_TRUE(consenting_one.has_value());
  rewrite_index(*consenting_one);
  EXPECT_EQ(search(1000, "marketing"), consenting);
  EXPECT_EQ(search(1000, "").size(), 300u);
}

}  // namespace
}  // namespace piivault::vault
