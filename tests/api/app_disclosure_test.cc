// Legal disclosure requests through App::Handle (issue 13): a gag order
// holds back the tenant's notice and listing until it ends, then exactly one
// notice; what was fulfilled is what the disclosure record, the tenant's
// list and the tenant's audit log (one event per principal, with the
// request id) say; non-binding, self-approved and premature requests are
// refused with nothing changed; an authority's key gets an encrypted
// package it can open.
#include "app_fixture.h"
#include "base/encoding.h"
#include "crypto/transfer_stream.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::seconds;

class AppDisclosureTest : public testing::AppTest {
 protected:
  const std::string base = "/v1/disclosure-requests";

  void SetUp() override {
    AppTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(PutOrders());
    ann_person = CreatePerson("Ann", R"({"email":"ann@example.org"})");
    auto order =
        Data("POST", "/v1/tenants/acme/collections/orders/records", admin_key,
             R"({"principal":"Ann","fields":{"item":"book"}})");
    ASSERT_EQ(order.status, 201) << order.body;
    ann_order = Member(order, "id");
    bob_person = CreatePerson("Bob", R"({"email":"bob@example.org"})");
    CreatePerson("Cy", R"({"email":"cy@example.org"})");  // never in scope
    legal1 = Legal("legal one");
    legal2 = Legal("legal two");
  }

  std::string Legal(const char* name) {
    auto made = h.vault->identities.Create(vault::RequestContext(), name,
                                           vault::Role::kOperatorLegal, "");
    EXPECT_TRUE(made.has_value());
    return made ? made->api_key : "";
  }

  // A request body; `extra` is appended to the object (",\"k\":v").
  static std::string Body(const std::string& principals, bool binding = true,
                          const std::string& extra = "",
                          const std::string& authority = R"("Court")",
                          const std::string& tenant = "acme",
                          const std::string& type = "court_order") {
    return R"({"tenant":")" + tenant + R"(","authority":)" + authority +
           R"(,"instrument":{"type":")" + type +
           R"(","reference":"2026-17",)"
           R"("jurisdiction":"DE","legally_binding":)" +
           (binding ? "true" : "false") + R"(},"scope":{"principals":)" +
           principals + "}" + extra + "}";
  }
  // Created by legal1; its id.
  std::string Create(const std::string& body) {
    auto r = Call("POST", base, legal1, body);
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(Member(r, "state"), "received");
    return Member(r, "id");
  }
  HttpResponse Act(const std::string& id, const std::string& what,
                   const std::string& key, std::string body = "") {
    return Call("POST", base + "/" + id + "/" + what, key, std::move(body));
  }
  std::string State(const std::string& id) {
    auto r = Call("GET", base + "/" + id, legal1);
    EXPECT_EQ(r.status, 200) << r.body;
    return Member(r, "state");
  }
  static std::string Code(const HttpResponse& r) {
    return std::string(json::parse(r.body).at("error").at("code").as_string());
  }
  int DisclosureNotices() {
    auto r = Call("GET", "/v1/tenants/acme/notifications", admin_key);
    EXPECT_EQ(r.status, 200) << r.body;
    int n = 0;
    auto doc = json::parse(r.body);
    for (auto& v : doc.at("notifications").as_array())
      n += v.at("type").as_string() == "disclosure";
    return n;
  }
  json::array TenantList() {
    auto r = Call("GET", "/v1/tenants/acme/disclosures", admin_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).at("disclosures").as_array();
  }
  std::string Pseudonym(const std::string& principal) {
    auto tenant = h.vault->tenants.Get(vault::RequestContext(), "acme");
    EXPECT_TRUE(tenant.has_value());
    return h.vault->records.Pseudonym(*tenant, principal).value_or("");
  }
  // The tenant's audit events of the disclosure `id`'s fulfilment.
  std::vector<audit::Event> FulfilEvents(const std::string& id) {
    auto all = audit.Read("t/acme", 0, Events());
    EXPECT_TRUE(all.has_value());
    std::vector<audit::Event> out;
    for (auto& e : all.value_or(std::vector<audit::Event>{}))
      if (e.action == "disclosure.fulfil" && e.request_id == id)
        out.push_back(e);
    return out;
  }
  // The package's records by principal id: record ids.
  static std::map<std::string, std::set<std::string>> PackageRecords(
      const json::value& package) {
    std::map<std::string, std::set<std::string>> out;
    for (auto& p : package.at("principals").as_array()) {
      auto& ids = out[std::string(p.at("principal").as_string())];
      for (auto& r : p.at("records").as_array())
        ids.emplace(r.at("id").as_string());
    }
    return out;
  }

  std::string legal1, legal2, ann_person, ann_order, bob_person;
};

TEST_F(AppDisclosureTest, AGagOrderHoldsBackNoticeAndListingUntilItEnds) {
  const TimePoint until = h.clock.now + hours(72);
  std::string id = Create(
      Body(R"(["Ann"])", true,
           R"(,"nondisclosure_until":")" + FormatRfc3339(until) + R"(")"));
  ASSERT_EQ(Act(id, "approve", legal2).status, 200);
  auto fulfilled = Act(id, "fulfil", legal1);
  ASSERT_EQ(fulfilled.status, 200) << fulfilled.body;
  EXPECT_EQ(DisclosureNotices(), 0);
  EXPECT_TRUE(TenantList().empty());

  h.clock.now = until - seconds(1);
  ASSERT_TRUE(h.vault->scheduler.RunDue(h.clock.now).has_value());
  EXPECT_EQ(DisclosureNotices(), 0);
  EXPECT_TRUE(TenantList().empty());

  h.clock.now = until;
  auto ran = h.vault->scheduler.RunDue(h.clock.now);
  ASSERT_TRUE(ran.has_value());
  EXPECT_EQ(ran->completed, 1);
  EXPECT_EQ(DisclosureNotices(), 1);
  auto listed = TenantList();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("id").as_string(), id);
  EXPECT_EQ(listed[0].at("state").as_string(), "fulfilled");

  // Later runs add nothing.
  h.clock.now = until + hours(24);
  ASSERT_TRUE(h.vault->scheduler.RunDue(h.clock.now).has_value());
  EXPECT_EQ(DisclosureNotices(), 1);
}

TEST_F(AppDisclosureTest, WithoutAGagOrderTheTenantIsToldAtApproval) {
  std::string id = Create(Body(R"(["Ann"])"));
  EXPECT_EQ(DisclosureNotices(), 0);
  EXPECT_TRUE(TenantList().empty());  // received: not yet a disclosure
  ASSERT_EQ(Act(id, "approve", legal2).status, 200);
  EXPECT_EQ(DisclosureNotices(), 1);
  auto listed = TenantList();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("state").as_string(), "approved");
}

TEST_F(AppDisclosureTest, RecordListAndAuditLogMatchWhatWasFulfilled) {
  std::string id = Create(Body(R"(["Ann","Bob"])"));
  ASSERT_EQ(Act(id, "approve", legal2).status, 200);
  auto r = Act(id, "fulfil", legal1);
  ASSERT_EQ(r.status, 200) << r.body;
  auto reply = json::parse(r.body);
  EXPECT_EQ(reply.at("state").as_string(), "fulfilled");
  auto package = PackageRecords(reply.at("package"));
  std::map<std::string, std::set<std::string>> want{
      {"Ann", {ann_person, ann_order}}, {"Bob", {bob_person}}};
  EXPECT_EQ(package, want);
  // The values themselves went to the authority.
  EXPECT_NE(json::serialize(reply.at("package")).find("ann@example.org"),
            std::string::npos);

  // The disclosure record in the tenant's list: pseudonyms and names.
  auto listed = TenantList();
  ASSERT_EQ(listed.size(), 1u);
  std::map<std::string, std::set<std::string>> recorded;
  for (auto& p : listed[0].at("disclosure").at("principals").as_array()) {
    auto& ids = recorded[std::string(p.at("principal_pseudonym").as_string())];
    for (auto& rec : p.at("records").as_array()) ids.emplace(rec.as_string());
  }
  EXPECT_EQ(recorded, (std::map<std::string, std::set<std::string>>{
                          {Pseudonym("Ann"), want["Ann"]},
                          {Pseudonym("Bob"), want["Bob"]}}));
  EXPECT_EQ(json::serialize(listed[0].at("disclosure")).find("@example.org"),
            std::string::npos);

  // One event per principal in the tenant's log, with the request id.
  std::map<std::string, std::set<std::string>> logged;
  for (auto& e : FulfilEvents(id)) {
    EXPECT_EQ(e.principal_pseudonyms.size(), 1u);
    EXPECT_EQ(audit::OutcomeName(e.outcome), "ok");
    EXPECT_EQ(e.purpose, "legal_obligation");
    logged[e.principal_pseudonym].insert(e.records.begin(), e.records.end());
  }
  EXPECT_EQ(logged, recorded);
}

TEST_F(AppDisclosureTest, TheScopeLimitsTheCollectionsRead) {
  std::string id = Create(Body(R"(["Ann"],"collections":["people"])"));
  ASSERT_EQ(Act(id, "approve", legal2).status, 200);
  auto r = Act(id, "fulfil", legal1);
  ASSERT_EQ(r.status, 200) << r.body;
  auto package = PackageRecords(json::parse(r.body).at("package"));
  EXPECT_EQ(package["Ann"], std::set<std::string>{ann_person});
  auto events = FulfilEvents(id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].records, std::vector<std::string>{ann_person});
}

TEST_F(AppDisclosureTest, SelfApprovalAndNonBindingAreRefusedUnchanged) {
  std::string id = Create(Body(R"(["Ann"])"));
  auto self = Act(id, "approve", legal1);
  EXPECT_EQ(self.status, 403) << self.body;
  EXPECT_EQ(Code(self), "permission_denied");
  EXPECT_EQ(State(id), "received");

  std::string loose = Create(Body(R"(["Ann"])", false));
  auto refused = Act(loose, "approve", legal2);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(Code(refused), "failed_precondition");
  EXPECT_EQ(State(loose), "received");
  EXPECT_EQ(DisclosureNotices(), 0);
  EXPECT_TRUE(TenantList().empty());
}

TEST_F(AppDisclosureTest, FulfilmentBeforeApprovalOrTwiceIsRefused) {
  std::string id = Create(Body(R"(["Ann"])"));
  const uint64_t before = Events();
  auto early = Act(id, "fulfil", legal1);
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_EQ(Code(early), "failed_precondition");
  EXPECT_EQ(Events(), before);  // nothing read, nothing on the tenant's log
  EXPECT_EQ(State(id), "received");

  std::string rejected = Create(Body(R"(["Ann"])"));
  ASSERT_EQ(Act(rejected, "reject", legal2, R"({"reason":"no basis"})").status,
            200);
  EXPECT_EQ(Act(rejected, "fulfil", legal1).status, 409);
  EXPECT_EQ(Act(rejected, "approve", legal2).status, 409);

  ASSERT_EQ(Act(id, "approve", legal2).status, 200);
  ASSERT_EQ(Act(id, "fulfil", legal1).status, 200);
  auto again = Act(id, "fulfil", legal1);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(FulfilEvents(id).size(), 1u);
}

TEST_F(AppDisclosureTest, TheEncryptedPackageOpensWithTheAuthoritysKey) {
  auto authority = crypto::X25519KeyPair::Generate();
  std::string id =
      Create(Body(R"(["Ann"])", true, "",
                  R"({"name":"Court","public_key":")" +
                      Base64Encode(authority.public_key) + R"("})"));
  ASSERT_EQ(Act(id, "approve", legal2).status, 200);
  auto r = Act(id, "fulfil", legal1);
  ASSERT_EQ(r.status, 200) << r.body;
  auto reply = json::parse(r.body);
  ASSERT_TRUE(reply.at("package").is_string());
  auto sealed = Base64Decode(reply.at("package").as_string());
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->find("ann@example.org"), std::string::npos);
  std::string plain;
  auto reader = crypto::TransferStreamReader::Create(authority.private_key,
                                                     crypto::AppendTo(&plain));
  ASSERT_TRUE(reader.has_value());
  ASSERT_TRUE(reader->Write(*sealed).ok());
  ASSERT_TRUE(reader->Finish().ok());
  auto package = json::parse(plain);
  EXPECT_EQ(package.at("disclosure_request").as_string(), id);
  auto& records = package.at("principals").at(0).at("records").as_array();
  std::set<std::string> emails;
  for (auto& rec : records)
    if (auto* email = rec.at("fields").as_object().if_contains("email"))
      emails.emplace(email->as_string());
  EXPECT_EQ(emails, std::set<std::string>{"ann@example.org"});
  auto listed = TenantList();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].at("disclosure").at("encrypted").as_bool());
}

TEST_F(AppDisclosureTest, TheTenantInTheBodyIsDecided) {
  auto unknown = Call("POST", base, legal1,
                      Body(R"(["Ann"])", true, "", R"("Court")", "nope"));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto bad_type =
      Call("POST", base, legal1,
           Body(R"(["Ann"])", true, "", R"("Court")", "acme", "letter"));
  EXPECT_EQ(bad_type.status, 400) << bad_type.body;
  EXPECT_EQ(Code(bad_type), "validation_failed");
  auto listed = Call("GET", base, legal1);
  ASSERT_EQ(listed.status, 200);
  EXPECT_TRUE(
      json::parse(listed.body).at("disclosure_requests").as_array().empty());
}

}  // namespace
}  // namespace piivault::api
