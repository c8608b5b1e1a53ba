// The audit trail of the HTTP API, driven through App::Handle over in-memory
// stores: exactly one event per audited request (denials and failures
// included), write-ahead for changes, and fail-closed when the event cannot
// be written.
#include "app_fixture.h"
#include "base/encoding.h"

namespace piivault::api {
namespace {

using testing::Dump;
namespace json = boost::json;

class AppAuditTest : public testing::AppTest {
 protected:
  // The sequence numbers of the events that `path` (an audit/events query)
  // answers `key` with.
  std::vector<uint64_t> EventSeqs(const std::string& path,
                                  const std::string& key) {
    auto r = Call("GET", path, key);
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    std::vector<uint64_t> out;
    if (r.status != 200) return out;
    json::value body = json::parse(r.body);
    for (auto& e : body.at("events").as_array())
      out.push_back(e.at("seq").to_number<uint64_t>());
    return out;
  }
};

TEST_F(AppAuditTest, EveryDataEndpointAppendsExactlyOneEvent) {
  struct Step {
    std::string method, path, body, action, outcome;
    const std::string* key;
  };
  auto created =
      Data("POST", "/v1/tenants/acme/collections/people/records", admin_key,
           R"({"principal":"Principal-One","fields":{"email":"a@example.com",
                          "ssn":"219-09-9999"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = Member(created, "id");
  audit::Event create_event = Last();
  EXPECT_EQ(create_event.action, "records.create");
  EXPECT_EQ(create_event.outcome, audit::Outcome::kOk);
  EXPECT_EQ(create_event.record, id);
  EXPECT_EQ(create_event.region, "eu");
  EXPECT_EQ(create_event.purpose, "service_delivery");
  EXPECT_EQ(create_event.fields, (std::vector<std::string>{"email", "ssn"}));
  EXPECT_FALSE(create_event.principal_pseudonym.empty());
  EXPECT_EQ(create_event.principal_pseudonym.find("Principal"),
            std::string::npos);

  auto tokens = Data(
      "POST", "/v1/tenants/acme/tokenize", admin_key,
      R"({"collection":"people","record":")" + id + R"(","fields":["ssn"]})");
  ASSERT_EQ(tokens.status, 200);
  std::string token =
      std::string(json::parse(tokens.body).at("tokens").at("ssn").as_string());
  std::string records = "/v1/tenants/acme/collections/people/records/";
  std::vector<Step> steps = {
      {"GET", records + id, "", "records.get", "ok", &admin_key},
      {"PATCH", records + id, R"({"fields":{"email":"b@example.com"}})",
       "records.update", "ok", &admin_key},
      {"POST", "/v1/tenants/acme/collections/people/search",
       R"({"match":{"email":"b@example.com"}})", "records.search", "ok",
       &admin_key},
      {"POST", "/v1/tenants/acme/detokenize",
       R"({"tokens":[")" + token + R"("]})", "tokens.detokenize", "ok",
       &admin_key},
      {"GET", "/v1/tenants/acme/principals/Principal-One", "", "principals.get",
       "ok", &admin_key},
      {"GET", "/v1/tenants/acme/principals/Principal-One/export", "",
       "principals.export", "ok", &admin_key},
      // Denied: a tenant-app without a policy rule.
      {"GET", records + id, "", "records.get", "denied", &app_key},
      // Failed: no such record, invalid input.
      {"GET", records + "rec_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", "records.get",
       "error", &admin_key},
      {"POST", "/v1/tenants/acme/collections/people/records",
       R"({"principal":"Principal-Two","fields":{"email":"nope"}})",
       "records.create", "error", &admin_key},
      {"POST", "/v1/tenants/acme/principals/Principal-One/relocate",
       R"({"region":"us"})", "principals.relocate", "ok", &admin_key},
      {"DELETE", records + id, "", "records.delete", "ok", &admin_key},
      {"DELETE", "/v1/tenants/acme/principals/Principal-One", "",
       "principals.erase", "ok", &admin_key},
  };
  for (auto& step : steps) {
    SCOPED_TRACE(step.method + " " + step.action + " " + step.outcome);
    uint64_t before = Events();
    auto r = Data(step.method, step.path, *step.key, step.body);
    EXPECT_EQ(Events(), before + 1) << r.status << " " << r.body;
    audit::Event e = Last();
    EXPECT_EQ(e.action, step.action);
    EXPECT_EQ(audit::OutcomeName(e.outcome), step.outcome)
        << r.status << " " << r.body;
    EXPECT_EQ(e.actor.empty(), false);
    EXPECT_EQ(e.seq, before);
  }
  // Reads of the log itself and of non-PII documents are not events.
  uint64_t before = Events();
  EXPECT_EQ(Call("GET", "/v1/tenants/acme/audit/head", admin_key).status, 200);
  EXPECT_EQ(
      Call("GET", "/v1/tenants/acme/collections/people", admin_key).status,
      200);
  EXPECT_EQ(Events(), before);
  // No event holds a value or the principal id.
  auto all = audit.Entries("t/acme", 0, 1000);
  ASSERT_TRUE(all.has_value());
  for (auto& entry : *all)
    for (const char* pii : {"a@example.com", "b@example.com", "219-09-9999",
                            "Principal-One", "Principal-Two"})
      EXPECT_EQ(entry.find(pii), std::string::npos) << entry;
}

TEST_F(AppAuditTest, FailsClosedWhenTheEventCannotBeWritten) {
  auto created = Data(
      "POST", "/v1/tenants/acme/collections/people/records", admin_key,
      R"({"principal":"Principal-One","fields":{"email":"secret@example.com"}})");
  ASSERT_EQ(created.status, 201);
  std::string id = Member(created, "id");
  auto eu = Dump(*h.eu_backend);
  auto us = Dump(*h.us_backend);
  uint64_t events = Events();

  audit_store.fail_writes = true;
  // A read returns no PII.
  auto read = Data("GET", "/v1/tenants/acme/collections/people/records/" + id,
                   admin_key);
  EXPECT_EQ(read.status, 503);
  EXPECT_EQ(read.body.find("secret"), std::string::npos) << read.body;
  EXPECT_NE(read.body.find("\"unavailable\""), std::string::npos);
  // Changes change nothing: not the record, not a new principal's placement.
  auto control = Dump(*h.control_backend);
  EXPECT_EQ(
      Data(
          "POST", "/v1/tenants/acme/collections/people/records", admin_key,
          R"({"principal":"Principal-One","fields":{"email":"x@example.com"}})")
          .status,
      503);
  EXPECT_EQ(
      Data("POST", "/v1/tenants/acme/collections/people/records", admin_key,
           R"({"principal":"new","fields":{"email":"y@example.com"}})")
          .status,
      503);
  EXPECT_EQ(Data("PATCH", "/v1/tenants/acme/collections/people/records/" + id,
                 admin_key, R"({"fields":{"email":"z@example.com"}})")
                .status,
            503);
  EXPECT_EQ(Data("DELETE", "/v1/tenants/acme/collections/people/records/" + id,
                 admin_key)
                .status,
            503);
  EXPECT_EQ(Call("PUT", "/v1/tenants/acme/purposes/newsletter", admin_key,
                 R"({"category":"service","description":"x"})")
                .status,
            503);
  EXPECT_EQ(Dump(*h.eu_backend), eu);
  EXPECT_EQ(Dump(*h.us_backend), us);
  EXPECT_EQ(Dump(*h.control_backend), control);

  audit_store.fail_writes = false;
  EXPECT_EQ(Events(), events);
  auto again = Data("GET", "/v1/tenants/acme/collections/people/records/" + id,
                    admin_key);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Events(), events + 1);
}

// The events endpoint: filters by action, principal (id or pseudonym) and
// time window, pages with `next`, and refuses malformed filters.
TEST_F(AppAuditTest, EventsFilterByActionPrincipalAndTimeAndPage) {
  std::string records = "/v1/tenants/acme/collections/people/records";
  auto create = [&](const std::string& principal) {
    auto r = Data("POST", records, admin_key,
                  R"({"principal":")" + principal +
                      R"(","fields":{"email":"x@example.com"}})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Member(r, "id");
  };
  const uint64_t first = Events();
  std::string a1 = create("Principal-A");
  create("Principal-B");
  const std::string since = FormatRfc3339(h.clock.now + std::chrono::hours(1));
  h.clock.now += std::chrono::hours(2);
  ASSERT_EQ(Data("GET", records + "/" + a1, admin_key).status, 200);
  create("Principal-B");
  const std::string base =
      "/v1/tenants/acme/audit/events?from=" + std::to_string(first) +
      "&limit=100";
  auto seqs = [&](const std::string& filter) {
    return EventSeqs(base + filter, admin_key);
  };
  using Seqs = std::vector<uint64_t>;
  EXPECT_EQ(seqs(""), (Seqs{first, first + 1, first + 2, first + 3}));
  EXPECT_EQ(seqs("&action=records.get"), Seqs{first + 2});
  EXPECT_EQ(seqs("&principal=Principal-A"), (Seqs{first, first + 2}));
  EXPECT_EQ(seqs("&principal=Principal-B&since=" + since), Seqs{first + 3});
  EXPECT_EQ(seqs("&until=" + since), (Seqs{first, first + 1}));
  auto pseudonym =
      audit.Read("t/acme", first + 1, 1)->front().principal_pseudonym;
  EXPECT_EQ(seqs("&principal_pseudonym=" + pseudonym),
            (Seqs{first + 1, first + 3}));

  // Paging: two at a time until `next` is null.
  std::vector<uint64_t> paged;
  std::string next = std::to_string(first);
  while (true) {
    auto r = Call("GET", "/v1/tenants/acme/audit/events?limit=2&from=" + next,
                  admin_key);
    ASSERT_EQ(r.status, 200);
    auto body = json::parse(r.body).as_object();
    for (auto& e : body.at("events").as_array())
      paged.push_back(e.at("seq").to_number<uint64_t>());
    if (body.at("next").is_null()) break;
    next = std::to_string(body.at("next").to_number<uint64_t>());
  }
  EXPECT_EQ(paged, seqs(""));

  for (std::string bad : {"since=yesterday", "limit=0", "from=x"})
    EXPECT_EQ(
        Call("GET", "/v1/tenants/acme/audit/events?" + bad, admin_key).status,
        400)
        << bad;
}

// The events of one purpose, or of one outcome, and exactly those; an
// outcome that is none of ok, denied, error is refused without echoing it.
TEST_F(AppAuditTest, EventsFilterByPurposeAndOutcome) {
  const std::string records = "/v1/tenants/acme/collections/people/records/";
  const uint64_t first = Events();
  std::string id = CreatePerson("Principal-A", R"({"email":"a@example.com"})");
  ASSERT_EQ(Call("GET", records + id, admin_key, "", "analytics").status, 200);
  ASSERT_EQ(Data("GET", records + id, app_key).status, 403);
  ASSERT_EQ(
      Data("GET", records + "rec_aaaaaaaaaaaaaaaaaaaaaaaaaa", admin_key).status,
      404);
  ASSERT_EQ(Call("GET", records + id, app_key, "", "analytics").status, 403);
  auto seqs = [&](const std::string& base, const std::string& key,
                  const std::string& filter) {
    return EventSeqs(base + "/audit/events?limit=100&" + filter, key);
  };
  auto tenant_seqs = [&](const std::string& filter) {
    return seqs("/v1/tenants/acme", admin_key,
                "from=" + std::to_string(first) + "&" + filter);
  };
  using Seqs = std::vector<uint64_t>;
  EXPECT_EQ(tenant_seqs("purpose=analytics"), (Seqs{first + 1, first + 4}));
  EXPECT_EQ(tenant_seqs("purpose=service_delivery"),
            (Seqs{first, first + 2, first + 3}));
  // Exactly: not a prefix, nor a purpose no event has.
  EXPECT_EQ(tenant_seqs("purpose=service"), Seqs{});
  EXPECT_EQ(tenant_seqs("purpose=marketing"), Seqs{});
  EXPECT_EQ(tenant_seqs("outcome=ok"), (Seqs{first, first + 1}));
  EXPECT_EQ(tenant_seqs("outcome=denied"), (Seqs{first + 2, first + 4}));
  EXPECT_EQ(tenant_seqs("outcome=error"), Seqs{first + 3});
  EXPECT_EQ(tenant_seqs("purpose=analytics&outcome=denied"), Seqs{first + 4});

  // The operator log too: a denied request (an auditor may not create an
  // identity) among the successful ones.
  auto auditor = h.vault->identities.Create(vault::RequestContext(), "auditor",
                                            vault::Role::kAuditor, "");
  ASSERT_TRUE(auditor.has_value());
  ASSERT_EQ(Call("POST", "/v1/identities", auditor->api_key,
                 R"({"name":"n","role":"auditor"})")
                .status,
            403);
  const std::string log(audit::AuditLog::kOperatorLog);
  auto all = audit.Read(log, 0, audit.Size(log).value_or(0));
  ASSERT_TRUE(all.has_value());
  Seqs ok, denied;
  for (auto& e : *all)
    (e.outcome == audit::Outcome::kOk ? ok : denied).push_back(e.seq);
  ASSERT_EQ(denied, Seqs{all->back().seq});
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(seqs("/v1/operator", operator_key, "outcome=ok"), ok);
  EXPECT_EQ(seqs("/v1/operator", operator_key, "outcome=denied"), denied);

  for (auto [base, key] : {std::pair{"/v1/tenants/acme", &admin_key},
                           std::pair{"/v1/operator", &operator_key}})
    for (std::string bad : {"OK", "failed", "ok2", "%3Cb%3Eok"}) {
      auto r =
          Call("GET", std::string(base) + "/audit/events?outcome=" + bad, *key);
      EXPECT_EQ(r.status, 400) << bad << " " << r.body;
      EXPECT_EQ(Error(r).first, "invalid_argument") << bad;
      EXPECT_EQ(r.body.find(bad), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find("<b>"), std::string::npos) << r.body;
    }
}

// After retention removed old events, reading the log starts after them
// (they are gone, not an integrity error).
TEST_F(AppAuditTest, ReadingEventsStartsAfterThosePrunedByRetention) {
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(Data("GET", "/v1/tenants/acme/collections/people/records/rec_x",
                   admin_key)
                  .status,
              404);
  const uint64_t old_events = Events();
  h.clock.now += std::chrono::hours(24 * 30);
  ASSERT_TRUE(audit.PruneExpired(std::chrono::hours(24 * 7)).ok());
  ASSERT_EQ(audit.PrunedBefore("t/acme").value_or(0), old_events);
  ASSERT_EQ(Data("GET", "/v1/tenants/acme/collections/people/records/rec_y",
                 admin_key)
                .status,
            404);
  auto page =
      Call("GET", "/v1/tenants/acme/audit/events?from=0&limit=5", admin_key);
  ASSERT_EQ(page.status, 200) << page.body;
  auto events = json::parse(page.body).at("events").as_array();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("seq").to_number<uint64_t>(), old_events);
  EXPECT_EQ(events[0].at("record").as_string(), "rec_y");
}

// The contract (API.md, Audit) names the algorithm exactly "ed25519".
TEST_F(AppAuditTest, PublicKeyNamesItsAlgorithmAsTheContractSpellsIt) {
  auto r = Call("GET", "/v1/audit/public-key", app_key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"algorithm":"ed25519","key_id":")" +
                        signer.key_id() + R"(","public_key":")" +
                        Base64Encode(signer.public_key()) + R"("})"));
}

}  // namespace
}  // namespace piivault::api
