// The request path's defects a security review found, one test each: the
// operator's bootstrap and key rotation, PATCH replies, the consent
// endpoints' policy, and audit events that name every subject with the
// final outcome.
#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using testing::AppTest;

class RequestPathTest : public AppTest {
 protected:
  // A record of `principal` in "people" with that e-mail and SSN.
  std::string Create(const std::string& principal, const std::string& email,
                     const std::string& ssn = "123-45-6789") {
    return CreatePerson(
        principal, R"({"email":")" + email + R"(","ssn":")" + ssn + R"("})");
  }
  std::string Pseudonym(const std::string& principal) {
    auto tenant = h.vault->tenants.Get(vault::RequestContext(), "acme");
    EXPECT_TRUE(tenant.has_value());
    return h.vault->records.Pseudonym(*tenant, principal).value_or("");
  }
};

// Defect 1: operator-admin created a tenant-admin for any tenant and read
// everything with it.
TEST_F(RequestPathTest, OperatorCreatesOnlyATenantsFirstAdmin) {
  // acme has an admin (the fixture's, bootstrapped by the operator).
  for (const char* body : {R"({"name":"x","role":"tenant-admin"})",
                           R"({"name":"x","role":"tenant-app"})"}) {
    auto r = Call("POST", "/v1/tenants/acme/identities", operator_key, body);
    EXPECT_EQ(r.status, 403) << body << " " << r.body;
    EXPECT_EQ(r.body.find("api_key"), std::string::npos);
  }
  // The tenant-admin may.
  EXPECT_EQ(Call("POST", "/v1/tenants/acme/identities", admin_key,
                 R"({"name":"second","role":"tenant-admin"})")
                .status,
            201);

  // A new tenant: only the first admin, and only an admin.
  ASSERT_EQ(Call("POST", "/v1/tenants", operator_key,
                 R"({"id":"beta","regions":["eu"],"default_region":"eu"})")
                .status,
            201);
  EXPECT_EQ(Call("POST", "/v1/tenants/beta/identities", operator_key,
                 R"({"name":"app","role":"tenant-app"})")
                .status,
            403);
  auto first = Call("POST", "/v1/tenants/beta/identities", operator_key,
                    R"({"name":"first","role":"tenant-admin"})");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(Call("POST", "/v1/tenants/beta/identities", operator_key,
                 R"({"name":"again","role":"tenant-admin"})")
                .status,
            403);
  // The operator may not deactivate tenant identities either (it could
  // then bootstrap again).
  std::string first_key = Member(first, "api_key");
  EXPECT_EQ(Call("DELETE", "/v1/tenants/beta/identities/" + IdOf(first_key),
                 operator_key)
                .status,
            403);
  // Once the tenant itself has no active admin left, the operator may
  // bootstrap again (recovery).
  EXPECT_EQ(Call("DELETE", "/v1/tenants/beta/identities/" + IdOf(first_key),
                 first_key)
                .status,
            204);
  EXPECT_EQ(Call("POST", "/v1/tenants/beta/identities", operator_key,
                 R"({"name":"recovered","role":"tenant-admin"})")
                .status,
            201);
}

TEST_F(RequestPathTest, ConcurrentBootstrapsCreateOneAdmin) {
  for (int round = 0; round < 5; ++round) {
    std::string tenant = "race" + std::to_string(round);
    ASSERT_EQ(Call("POST", "/v1/tenants", operator_key,
                   R"({"id":")" + tenant +
                       R"(","regions":["eu"],"default_region":"eu"})")
                  .status,
              201);
    std::atomic<int> created = 0, refused = 0;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&] {
        auto r = Call("POST", "/v1/tenants/" + tenant + "/identities",
                      operator_key, R"({"name":"a","role":"tenant-admin"})");
        (r.status == 201 ? created : refused)++;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(created.load(), 1) << tenant;
    EXPECT_EQ(refused.load(), 3) << tenant;
  }
}

TEST_F(RequestPathTest, RotationKillsTheOldKeyAtOnce) {
  // The tenant replaces the key the operator saw at bootstrap.
  const std::string id = IdOf(admin_key);
  auto rotated =
      Call("POST", "/v1/tenants/acme/identities/" + id + "/rotate", admin_key);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(Member(rotated, "id"), id);
  std::string fresh = Member(rotated, "api_key");
  ASSERT_NE(fresh, admin_key);
  EXPECT_EQ(Call("GET", "/v1/tenants/acme", admin_key).status, 401);
  EXPECT_EQ(Call("GET", "/v1/tenants/acme", fresh).status, 200);
  admin_key = fresh;
  // An app rotates its own key; not another's.
  std::string other = CreateApp("app2", R"([])");
  EXPECT_EQ(
      Call("POST", "/v1/tenants/acme/identities/" + IdOf(other) + "/rotate",
           app_key)
          .status,
      403);
  EXPECT_EQ(
      Call("POST", "/v1/tenants/acme/identities/" + IdOf(app_key) + "/rotate",
           app_key)
          .status,
      200);
  EXPECT_EQ(Call("GET", "/v1/whoami", app_key).status, 401);
  // Operator identities rotate too; a deactivated one cannot.
  auto legal = h.vault->identities.Create(vault::RequestContext(), "l",
                                          vault::Role::kOperatorLegal, "");
  ASSERT_TRUE(legal.has_value());
  auto mine = Call("POST", "/v1/identities/" + legal->identity.id + "/rotate",
                   legal->api_key);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(Call("GET", "/v1/whoami", legal->api_key).status, 401);
  ASSERT_EQ(Call("DELETE", "/v1/identities/" + legal->identity.id, operator_key)
                .status,
            204);
  EXPECT_EQ(Call("POST", "/v1/identities/" + legal->identity.id + "/rotate",
                 operator_key)
                .status,
            409);
  // The operator cannot rotate (and so take over) a tenant identity.
  EXPECT_EQ(
      Call("POST", "/v1/identities/" + id + "/rotate", operator_key).status,
      404);
}

// Defect 2: PATCH built its reply from the write grant.
TEST_F(RequestPathTest, PatchRepliesShowOnlyWhatAReadGrantAllows) {
  std::string id = Create("Ann", "ann@example.org");
  const std::string path = "/v1/tenants/acme/collections/people/records/" + id;
  std::string writer = CreateApp(
      "app2", R"([{"purposes":["service_delivery"],"collections":["people"],)"
              R"("actions":["write"],"transform":"plain"}])");
  for (const char* body :
       {R"({"fields":{}})", R"({"fields":{"email":"ann2@example.org"}})"}) {
    auto r = Data("PATCH", path, writer, body);
    ASSERT_EQ(r.status, 200) << r.body;
    auto reply = json::parse(r.body).as_object();
    EXPECT_FALSE(reply.contains("fields")) << r.body;
    EXPECT_FALSE(reply.contains("principal")) << r.body;
    EXPECT_EQ(r.body.find("ann"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("6789"), std::string::npos) << r.body;
    EXPECT_EQ(reply.at("id").as_string(), id);
  }
  // With a masked read grant the reply is masked, even under a plain write.
  std::string masked = CreateApp(
      "app2", R"([{"purposes":["service_delivery"],"collections":["people"],)"
              R"("actions":["write"],"transform":"plain"},)"
              R"({"purposes":["service_delivery"],"collections":["people"],)"
              R"("actions":["read"]}])");
  auto r = Data("PATCH", path, masked, R"({"fields":{}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto fields = json::parse(r.body).at("fields").as_object();
  EXPECT_EQ(fields.at("ssn").as_string(), "***-**-6789");
  EXPECT_EQ(r.body.find("ann2@example.org"), std::string::npos) << r.body;
}

// Defect 3: any identity of the tenant could record and read consents.
TEST_F(RequestPathTest, ConsentEndpointsFollowTheAppPolicy) {
  Create("Ann", "ann@example.org");
  const std::string ann = "/v1/tenants/acme/principals/Ann/consents";
  const std::string nobody = "/v1/tenants/acme/principals/Nobody/consents";
  ASSERT_EQ(Call("POST", ann, admin_key,
                 R"({"purpose":"advertising","granted":true,)"
                 R"("method":"form","evidence":"ticket 1"})")
                .status,
            201);
  const uint64_t before = Events();
  // Without a rule: 403, whether or not the principal exists.
  for (const std::string& path : {ann, nobody}) {
    EXPECT_EQ(Call("GET", path, app_key).status, 403) << path;
    EXPECT_EQ(
        Call("POST", path, app_key, R"({"purpose":"marketing","granted":true})")
            .status,
        403)
        << path;
  }
  auto ledger = h.vault->consents.Ledger(
      vault::RequestContext(),
      *h.vault->tenants.Get(vault::RequestContext(), "acme"), "Ann");
  ASSERT_TRUE(ledger.has_value());
  EXPECT_EQ(ledger->history.size(), 1u) << "a refused grant changed nothing";

  // consent_write for marketing: that purpose only.
  std::string marketer = CreateApp(
      "app2", R"([{"purposes":["marketing"],"actions":["consent_write"]}])");
  EXPECT_EQ(
      Call("POST", ann, marketer, R"({"purpose":"marketing","granted":true})")
          .status,
      201);
  EXPECT_EQ(Call("POST", ann, marketer,
                 R"({"purpose":"advertising","granted":false})")
                .status,
            403);
  EXPECT_EQ(Call("GET", ann, marketer).status, 403);

  // consent_read for marketing: sees the marketing consents only.
  std::string reader = CreateApp(
      "app2", R"([{"purposes":["marketing"],"actions":["consent_read"]}])");
  auto r = Call("GET", ann, reader);
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = json::parse(r.body);
  EXPECT_TRUE(doc.at("current").as_object().contains("marketing"));
  EXPECT_FALSE(doc.at("current").as_object().contains("advertising"));
  ASSERT_EQ(doc.at("history").as_array().size(), 1u);
  EXPECT_EQ(r.body.find("ticket 1"), std::string::npos);
  EXPECT_EQ(Call("GET", nobody, reader).status, 404);
  EXPECT_GT(Events(), before);
}

// Defect 4: an event named at most one record and principal.
TEST_F(RequestPathTest, EventsNameEverySubjectTheRequestTouched) {
  std::vector<std::string> principals{"Ann", "Bob", "Cy"};
  std::vector<std::string> records, tokens;
  for (auto& p : principals) {
    records.push_back(Create(p, p + "@example.org"));
    tokens.push_back(SsnToken(records.back()));
  }
  auto d = Data("POST", "/v1/tenants/acme/detokenize", admin_key,
                R"({"tokens":[")" + tokens[0] + R"(",")" + tokens[1] +
                    R"(",")" + tokens[2] + R"("]})");
  ASSERT_EQ(d.status, 200) << d.body;
  audit::Event e = Last();
  EXPECT_EQ(e.action, "tokens.detokenize");
  EXPECT_EQ(std::set(e.records.begin(), e.records.end()),
            std::set(records.begin(), records.end()));
  std::set<std::string> pseudonyms;
  for (auto& p : principals) pseudonyms.insert(Pseudonym(p));
  EXPECT_EQ(
      std::set(e.principal_pseudonyms.begin(), e.principal_pseudonyms.end()),
      pseudonyms);
  EXPECT_TRUE(e.record.empty()) << "the singular member is for one subject";

  // A search that returns two principals' records names both.
  Create("Ann", "shared@example.org", "111-22-3333");
  std::string bob2 = Create("Bob", "shared@example.org", "222-33-4444");
  auto s = Data("POST", "/v1/tenants/acme/collections/people/search", admin_key,
                R"({"match":{"email":"shared@example.org"}})");
  ASSERT_EQ(s.status, 200) << s.body;
  e = Last();
  EXPECT_EQ(e.action, "records.search");
  EXPECT_EQ(e.records.size(), 2u);
  EXPECT_EQ(
      std::set(e.principal_pseudonyms.begin(), e.principal_pseudonyms.end()),
      (std::set{Pseudonym("Ann"), Pseudonym("Bob")}));

  // audit/events?principal= finds every disclosure of Cy: its creation,
  // tokenization and the detokenize of three.
  auto found =
      Call("GET", "/v1/tenants/acme/audit/events?principal=Cy", admin_key);
  ASSERT_EQ(found.status, 200) << found.body;
  std::vector<std::string> actions;
  auto found_doc = json::parse(found.body);
  for (auto& ev : found_doc.at("events").as_array())
    actions.emplace_back(ev.at("action").as_string());
  EXPECT_EQ(actions,
            (std::vector<std::string>{"records.create", "tokens.tokenize",
                                      "tokens.detokenize"}));
  // The API lists the subjects also for one-subject events.
  auto one =
      Call("GET", "/v1/tenants/acme/audit/events?action=records.create&limit=1",
           admin_key);
  ASSERT_EQ(one.status, 200);
  auto page = json::parse(one.body);
  ASSERT_FALSE(page.at("events").as_array().empty());
  const json::value& first = page.at("events").as_array().front();
  EXPECT_EQ(first.at("records").as_array().size(), 1u);
  EXPECT_EQ(first.at("principal_pseudonyms").as_array().size(), 1u);
}

// Defect 5: the event written ahead of the first change said ok also when
// the request then failed.
TEST_F(RequestPathTest, AFailureAfterTheFirstWriteIsOnRecord) {
  const uint64_t before = Events();
  h.faults.fail_write_in = 1;  // the first store write after the intent
  auto r =
      Data("POST", "/v1/tenants/acme/collections/people/records", admin_key,
           R"({"principal":"Ann","fields":{"email":"ann@example.org"}})");
  ASSERT_EQ(r.status, 503) << r.body;
  auto events = audit.Read("t/acme", before, Events() - before);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 2u);
  const audit::Event& intent = (*events)[0];
  const audit::Event& outcome = (*events)[1];
  EXPECT_EQ(intent.outcome, audit::Outcome::kOk);
  EXPECT_FALSE(intent.intent.has_value());
  EXPECT_EQ(outcome.outcome, audit::Outcome::kError);
  ASSERT_TRUE(outcome.intent.has_value());
  EXPECT_EQ(*outcome.intent, intent.seq);
  EXPECT_EQ(outcome.request_id, intent.request_id);
  EXPECT_EQ(outcome.action, "records.create");
  EXPECT_EQ(outcome.principal_pseudonym, Pseudonym("Ann"));

  // A success writes one entry only.
  const uint64_t after = Events();
  ASSERT_EQ(
      Data("POST", "/v1/tenants/acme/collections/people/records", admin_key,
           R"({"principal":"Ann","fields":{"email":"a@example.org"}})")
          .status,
      201);
  EXPECT_EQ(Events(), after + 1);
}

// Defect 6: every {p} was taken for a principal.
TEST_F(RequestPathTest, AuditSubjectsComeFromWhatWasTouched) {
  ASSERT_EQ(Call("PUT", "/v1/tenants/acme/purposes/newsletter", admin_key,
                 R"({"category":"marketing","description":"letters"})")
                .status,
            201);
  audit::Event e = Last();
  EXPECT_EQ(e.action, "purposes.put");
  EXPECT_TRUE(e.principal_pseudonym.empty());
  EXPECT_TRUE(e.principal_pseudonyms.empty());
  EXPECT_TRUE(e.records.empty());
  // The same id as a principal's is not confused with it either.
  Create("newsletter", "n@example.org");
  EXPECT_EQ(Last().principal_pseudonym, Pseudonym("newsletter"));
}

}  // namespace
}  // namespace piivault::api

namespace piivault::api {
namespace {

// Where a request runs is declared with its operation: point reads answer
// on the I/O thread; changes and reads of up to a page of rows leave it for
// the handler pool, so a slow one never stalls the event loop.
TEST_F(RequestPathTest, LongWorkIsOffloadedAsItsOperationDeclares) {
  std::map<std::string, bool> offloaded_by_name;
  for (const auto& route : app.RouteTable()) {
    HttpRequest req;
    req.method = route.method;
    req.path = route.pattern;  // parameters stay "{x}": matched all the same
    req.headers.emplace_back("authorization", "Bearer " + admin_key);
    req.remote_address = source;
    bool offloaded = false;
    std::promise<void> answered;
    app.Handle(
        req, [&](HttpResponse) { answered.set_value(); },
        [&](std::function<void()> work) {
          offloaded = true;
          work();
        });
    answered.get_future().wait();
    EXPECT_EQ(offloaded, policy::Spec(route.op).runs == policy::Runs::kOffload)
        << route.method << " " << route.pattern;
    offloaded_by_name[route.name] = offloaded;
  }
  for (auto name : {"records.get", "whoami", "tenants.get"})
    EXPECT_FALSE(offloaded_by_name.at(name)) << name;
  for (auto name :
       {"records.create", "records.search", "tokens.detokenize",
        "principals.get", "principals.export", "principals.consents.list",
        "audit.tenant.events", "audit.tenant.export", "audit.operator.export"})
    EXPECT_TRUE(offloaded_by_name.at(name)) << name;
}

}  // namespace
}  // namespace piivault::api
