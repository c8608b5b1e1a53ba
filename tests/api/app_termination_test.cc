// POST /v1/tenants/{t}/terminate: the tenant becomes terminating with a
// disposal date, every change is refused while reads and exports go on, and
// the disposal is scheduled in the same write. Then disposal, and the
// tenants' states as GET /v1/tenants lists them.
#include <map>
#include <set>

#include "app_fixture.h"
#include "vault/storage_keys.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using lifecycle::JobKind;
using lifecycle::JobState;

class AppTerminationTest : public testing::AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    record = CreatePerson("ann", R"({"email":"ann@example.org",)"
                                 R"("ssn":"123-45-6789"})");
  }

  HttpResponse Terminate(const std::string& key, const std::string& body) {
    return Call("POST", "/v1/tenants/acme/terminate", key, body);
  }

  json::object Tenant() {
    // The operator's view: a disposed tenant's identities are deactivated.
    auto r = Call("GET", "/v1/tenants/acme", operator_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }

  // The tenant's disposal job, as the scheduler lists it.
  std::optional<lifecycle::Job> DisposalJob() {
    auto page = h.vault->scheduler.List("", 100);
    EXPECT_TRUE(page.has_value());
    if (page)
      for (auto& job : page->jobs)
        if (job.id == "disposal-acme") return job;
    return std::nullopt;
  }

  std::string record;
};

TEST_F(AppTerminationTest, TerminatesWithTheReturnPeriodAsked) {
  const TimePoint due = h.clock.now + std::chrono::days(10);
  const uint64_t before = Events();
  auto r = Terminate(admin_key, R"({"return_period":"P10D"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("id"), "acme");
  EXPECT_EQ(body.at("state"), "terminating");
  EXPECT_EQ(body.at("disposal_due_at").as_string(), FormatRfc3339(due));
  // GET answers the same.
  EXPECT_EQ(Tenant(), body);
  // Audited: it changes the tenant's state.
  ASSERT_GT(Events(), before);
  EXPECT_EQ(Last().action, "tenants.terminate");
  EXPECT_EQ(Last().outcome, audit::Outcome::kOk);
}

TEST_F(AppTerminationTest, OperatorAdminMayTerminateWithTheDefaultPeriod) {
  const TimePoint due = h.clock.now + std::chrono::days(30);
  // No body, and a body without return_period: the configured default.
  auto r = Terminate(operator_key, "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Member(r, "disposal_due_at"), FormatRfc3339(due));
  EXPECT_EQ(Member(r, "state"), "terminating");
}

TEST_F(AppTerminationTest, AnEmptyObjectTakesTheConfiguredDefault) {
  h.vault->terminations.set_default_return_period(std::chrono::days(90));
  auto r = Terminate(admin_key, "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Member(r, "disposal_due_at"),
            FormatRfc3339(h.clock.now + std::chrono::days(90)));
}

TEST_F(AppTerminationTest, SchedulesTheDisposalAtTheDueTime) {
  EXPECT_FALSE(DisposalJob().has_value());
  const TimePoint due = h.clock.now + std::chrono::days(7);
  ASSERT_EQ(Terminate(admin_key, R"({"return_period":"P7D"})").status, 200);
  auto job = DisposalJob();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->kind, JobKind::kDisposal);
  EXPECT_EQ(job->state, JobState::kScheduled);
  EXPECT_EQ(job->due_at, due);
  EXPECT_EQ(job->params.at("tenant"), "acme");
  // No handler for disposal yet: at and after the due time the scheduler
  // leaves the job alone, still scheduled.
  auto ran = h.vault->scheduler.RunDue(due + std::chrono::hours(1));
  ASSERT_TRUE(ran.has_value()) << ran.error().ToString();
  EXPECT_EQ(ran->completed + ran->retried + ran->failed, 0);
  EXPECT_EQ(DisposalJob()->state, JobState::kScheduled);
}

// The state change and the job are one write: a failing store leaves
// neither, whichever write fails.
TEST_F(AppTerminationTest, AFailedWriteLeavesTheTenantActiveAndNoJob) {
  auto stores = Stores();
  for (int n = 1; n <= 3; ++n) {
    SCOPED_TRACE("write " + std::to_string(n) + " fails");
    h.faults.fail_write_in = n;
    auto r = Terminate(admin_key, R"({"return_period":"P10D"})");
    const bool reached = h.faults.fail_write_in == 0;
    h.faults.fail_write_in = 0;
    if (!reached) {
      ASSERT_EQ(r.status, 200) << r.body;
      break;
    }
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(Tenant().at("state"), "active");
    EXPECT_FALSE(DisposalJob().has_value());
    EXPECT_EQ(Stores(), stores);
  }
  EXPECT_EQ(Tenant().at("state"), "terminating");
  EXPECT_TRUE(DisposalJob().has_value());
}

TEST_F(AppTerminationTest, TerminatingTwiceConflictsAndChangesNothing) {
  ASSERT_EQ(Terminate(admin_key, R"({"return_period":"P10D"})").status, 200);
  auto tenant = Tenant();
  auto job = DisposalJob();
  auto stores = Stores();
  h.clock.now += std::chrono::hours(1);
  for (const std::string& key : {admin_key, operator_key}) {
    auto r = Terminate(key, R"({"return_period":"P20D"})");
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(Error(r).first, "conflict");
  }
  EXPECT_EQ(Tenant(), tenant);
  EXPECT_EQ(DisposalJob()->due_at, job->due_at);
  EXPECT_EQ(Stores(), stores);
}

// A disposed tenant stays visible (GET shows its state) and is not active:
// terminating it is a conflict, like terminating it twice.
TEST_F(AppTerminationTest, ADisposedTenantConflicts) {
  vault::RequestContext context;
  auto tenant = h.vault->tenants.Get(context, "acme");
  ASSERT_TRUE(tenant.has_value());
  tenant->state = vault::TenantState::kDisposed;
  storage::WriteBatch batch;
  h.vault->control.Put(batch, vault::keys::Tenant("acme"),
                       vault::ToJson(*tenant));
  ASSERT_TRUE(h.vault->control.Write(context, batch).ok());
  auto r = Terminate(operator_key, "");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(Error(r).first, "conflict");
  EXPECT_FALSE(DisposalJob().has_value());
}

TEST_F(AppTerminationTest, ABadReturnPeriodIsRefusedAndChangesNothing) {
  auto stores = Stores();
  for (std::string body :
       {R"({"return_period":"PT23H"})", R"({"return_period":"P366D"})",
        R"({"return_period":"P0D"})", R"({"return_period":"a month"})",
        R"({"return_period":""})", R"({"return_period":30})",
        R"({"return_period":["P30D"]})"}) {
    auto r = Terminate(admin_key, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(Error(r).first, "validation_failed") << body;
    EXPECT_EQ(Error(r).second, "return_period") << body;
  }
  for (std::string body : {R"({"period":"P30D"})", "[]", "{"}) {
    auto r = Terminate(admin_key, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
  }
  EXPECT_EQ(Stores(), stores);
  EXPECT_EQ(Tenant().at("state"), "active");
  // The bounds themselves are accepted.
  ASSERT_EQ(Terminate(admin_key, R"({"return_period":"P365D"})").status, 200);
}

TEST_F(AppTerminationTest, OnlyTheTenantsAdminOrTheOperatorAdminMay) {
  const std::string other_admin = OtherTenantAdminKey();
  auto stores = Stores();
  for (const std::string& key : {other_admin, app_key}) {
    auto r = Terminate(key, "");
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Error(r).first, "permission_denied");
  }
  EXPECT_EQ(Stores(), stores);
  EXPECT_EQ(Tenant().at("state"), "active");
}

// Every route whose operation writes is refused with tenant_not_active,
// with a body that would succeed on an active tenant, and changes nothing.
// The set of such routes is decided here: a new writing route must be
// added (and so, thought about).
TEST_F(AppTerminationTest, EveryWritingRouteIsRefused) {
  const std::map<std::string, std::string> bodies{
      {"tenants.update", R"({"name":"Acme Two"})"},
      {"tenant_identities.create", R"({"name":"late","role":"tenant-app"})"},
      {"tenant_identities.policy", R"({"rules":[]})"},
      {"purposes.put", R"({"category":"marketing","description":"letters"})"},
      {"collections.put",
       R"({"fields":[{"name":"email","type":"email","searchable":true},)"
       R"({"name":"ssn","type":"ssn"},{"name":"nick","type":"string"}]})"},
      {"principals.relocate", R"({"region":"us"})"},
      {"principals.consents.record",
       R"({"purpose":"marketing","granted":true})"},
      {"records.create",
       R"({"principal":"cy","fields":{"email":"cy@example.org"}})"},
      {"records.update", R"({"fields":{"email":"ann2@example.org"}})"},
      {"records.delete", ""},
      {"principals.erase", ""},
  };
  ASSERT_EQ(Terminate(admin_key, "").status, 200);
  auto stores = Stores();
  std::set<std::string> writing;
  for (auto& route : app.RouteTable()) {
    if (policy::Spec(route.op).writes) writing.insert(route.name);
    auto body = bodies.find(route.name);
    if (body == bodies.end()) continue;  // reported below if writing
    std::string path = route.pattern;
    auto fill = [&](const std::string& param, const std::string& value) {
      if (auto at = path.find(param); at != std::string::npos)
        path.replace(at, param.size(), value);
    };
    fill("{t}", "acme");
    fill("{c}", "people");
    fill("{p}", route.name == "purposes.put" ? "newsletter" : "ann");
    fill("{id}",
         path.find("/records/") != std::string::npos ? record : IdOf(app_key));
    // PATCH /v1/tenants/{t} is the operator-admin's, the rest the
    // tenant-admin's.
    const std::string& key =
        route.name == "tenants.update" ? operator_key : admin_key;
    auto r = Data(route.method, path, key, body->second);
    EXPECT_EQ(r.status, 403) << route.name << " " << r.body;
    EXPECT_EQ(Error(r).first, "tenant_not_active") << route.name;
  }
  std::set<std::string> expected;
  for (auto& [name, body] : bodies) expected.insert(name);
  EXPECT_EQ(writing, expected);
  EXPECT_EQ(Stores(), stores);
}

// Reads and exports go on; so do taking access away (deactivating an
// identity, rotating a key) and the lockbox, which only reads.
TEST_F(AppTerminationTest, ReadsExportsAndRevocationsStillWork) {
  std::string token = SsnToken(record);
  ASSERT_EQ(Terminate(admin_key, "").status, 200);
  const std::string base = "/v1/tenants/acme";
  for (auto [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", base, ""},
           {"GET", base + "/collections/people/records/" + record, ""},
           {"POST", base + "/collections/people/search",
            R"({"match":{"email":"ann@example.org"}})"},
           {"GET", base + "/principals/ann", ""},
           {"GET", base + "/principals/ann/export", ""},
           {"GET", base + "/principals/ann/consents", ""},
           {"POST", base + "/tokenize",
            R"({"collection":"people","record":")" + record +
                R"(","fields":["ssn"]})"},
           {"POST", base + "/detokenize", R"({"tokens":[")" + token + R"("]})"},
           {"GET", base + "/collections", ""},
           {"GET", base + "/collections/people", ""},
           {"GET", base + "/purposes", ""},
           {"GET", base + "/locations", ""},
           {"GET", base + "/identities", ""},
           {"GET", base + "/certificates", ""},
           {"GET", base + "/audit/events", ""},
           {"GET", base + "/audit/head", ""},
       }) {
    auto r = Data(method, path, admin_key, body);
    EXPECT_EQ(r.status, 200) << method << " " << path << " " << r.body;
  }
  auto reader =
      Data("GET", base + "/collections/people/records/" + record, admin_key);
  EXPECT_NE(reader.body.find("ann@example.org"), std::string::npos);

  auto rotated = Call("POST", base + "/identities/" + IdOf(app_key) + "/rotate",
                      admin_key);
  EXPECT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(
      Call("DELETE", base + "/identities/" + IdOf(app_key), admin_key).status,
      204);
  auto lockbox = Call("POST", base + "/lockbox-requests", operator_key,
                      R"({"reason":"export help","scope":)"
                      R"({"collections":["people"]},"duration":"PT1H"})");
  EXPECT_EQ(lockbox.status, 201) << lockbox.body;
}

// POST /v1/tenants/{t}/dispose: before disposal_due_at only on a
// tenant-admin's confirmation, afterwards also the operator's; the answer is
// the signed certificate, kept in the register; from then on the tenant's
// data answers 404 and writes 403.
class AppDisposalTest : public AppTerminationTest {
 protected:
  HttpResponse Dispose(const std::string& key, const std::string& body) {
    return Call("POST", "/v1/tenants/acme/dispose", key, body);
  }
};

TEST_F(AppDisposalTest, AnActiveTenantIsTerminatedFirst) {
  auto r = Dispose(admin_key, R"({"confirmed_by_tenant":true})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("failed_precondition"), std::string::npos);
}

TEST_F(AppDisposalTest, EarlyDisposalNeedsATenantAdminsConfirmation) {
  ASSERT_EQ(Terminate(admin_key, R"({"return_period":"P10D"})").status, 200);
  for (auto [key, body] : std::vector<std::pair<std::string, std::string>>{
           {admin_key, ""},
           {admin_key, R"({"confirmed_by_tenant":false})"},
           // The operator cannot confirm for the tenant.
           {operator_key, R"({"confirmed_by_tenant":true})"}}) {
    auto r = Dispose(key, body);
    EXPECT_EQ(r.status, 409) << body << " " << r.body;
    EXPECT_NE(r.body.find("failed_precondition"), std::string::npos);
  }
  // Nothing happened: still terminating and readable.
  EXPECT_EQ(Tenant().at("state"), "terminating");
  EXPECT_EQ(Data("GET", "/v1/tenants/acme/collections/people/records/" + record,
                 admin_key)
                .status,
            200);
  EXPECT_EQ(Dispose(admin_key, R"({"confirmed_by_tenant":"yes"})").status, 400);
}

TEST_F(AppDisposalTest, ConfirmedDisposalAnswersWithTheSignedCertificate) {
  ASSERT_EQ(Terminate(admin_key, "").status, 200);
  const uint64_t before = Events();
  auto r = Dispose(admin_key, R"({"confirmed_by_tenant":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto cert = json::parse(r.body).at("certificate").as_object();
  EXPECT_EQ(cert.at("kind"), "tenant_disposal");
  EXPECT_EQ(cert.at("tenant"), "acme");
  EXPECT_EQ(cert.at("regions").at("eu").at("records"), 1);
  EXPECT_EQ(cert.at("regions").at("eu").at("principals"), 1);
  EXPECT_EQ(cert.at("keys_destroyed"), json::array{"acme/v1"});
  EXPECT_FALSE(cert.at("method").as_string().empty());
  EXPECT_EQ(cert.at("key_id").as_string(), signer.key_id());
  // Audited in the tenant's log, written ahead of the shredding.
  ASSERT_GT(Events(), before);
  EXPECT_EQ(Last().action, "tenants.dispose");
  EXPECT_EQ(Last().outcome, audit::Outcome::kOk);

  EXPECT_EQ(Tenant().at("state"), "disposed");
  // Its identities are deactivated: the admin's key no longer works.
  EXPECT_EQ(Call("GET", "/v1/whoami", admin_key).status, 401);
  // The register keeps it, for the operator and auditors too.
  auto listed = Call("GET", "/v1/tenants/acme/certificates", operator_key);
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto certs = json::parse(listed.body).at("certificates").as_array();
  ASSERT_FALSE(certs.empty());
  EXPECT_EQ(certs.back().as_object(), cert);

  // The tenant's data is gone: reads 404, writes 403 (its own identities
  // are deactivated: the operator asks).
  auto read =
      Data("GET", "/v1/tenants/acme/collections/people/records/" + record,
           operator_key);
  EXPECT_EQ(read.status, 404) << read.body;
  auto principal = Data("GET", "/v1/tenants/acme/principals/ann", operator_key);
  EXPECT_EQ(principal.status, 404) << principal.body;
  auto write = Data("POST", "/v1/tenants/acme/collections/people/records",
                    operator_key, R"({"principal":"x","fields":{}})");
  EXPECT_EQ(write.status, 403) << write.body;
  // Even an identity of the tenant that is still active (one created behind
  // the API's back here) finds nothing: no data, no export.
  auto late = h.vault->identities.Create(vault::RequestContext(), "late",
                                         vault::Role::kTenantAdmin, "acme");
  ASSERT_TRUE(late.has_value());
  auto late_read =
      Data("GET", "/v1/tenants/acme/collections/people/records/" + record,
           late->api_key);
  EXPECT_EQ(late_read.status, 404) << late_read.body;
  auto late_export =
      Data("POST", "/v1/tenants/acme/exports", late->api_key, "{}");
  EXPECT_EQ(late_export.status, 404) << late_export.body;
  // Disposed once.
  auto again = Dispose(operator_key, "");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("conflict"), std::string::npos);
}

// GET /v1/tenants: every tenant, whatever its state, each exactly as GET
// /v1/tenants/{t} shows it, ascending by id; for every operator identity
// and the auditor (the console's views), never for a tenant's identities.
TEST_F(AppDisposalTest, TheTenantListShowsEveryTenantInEveryState) {
  const std::string zeta_admin = TenantAdminKey("zeta", "us");
  ASSERT_EQ(
      Call("POST", "/v1/tenants", operator_key, R"({"id":"beta"})").status,
      201);
  ASSERT_EQ(Terminate(admin_key, R"({"return_period":"P10D"})").status, 200);
  ASSERT_EQ(Call("POST", "/v1/tenants/zeta/terminate", zeta_admin, "").status,
            200);
  ASSERT_EQ(Call("POST", "/v1/tenants/zeta/dispose", zeta_admin,
                 R"({"confirmed_by_tenant":true})")
                .status,
            200);
  std::vector<std::string> callers{operator_key};
  for (auto role : {vault::Role::kOperatorLegal, vault::Role::kOperatorSecurity,
                    vault::Role::kAuditor}) {
    auto issued =
        h.vault->identities.Create(vault::RequestContext(), "staff", role, "");
    ASSERT_TRUE(issued.has_value());
    callers.push_back(issued->api_key);
  }
  const std::string operator_log(audit::AuditLog::kOperatorLog);
  const uint64_t operator_events = audit.Size(operator_log).value_or(0);
  const uint64_t acme_events = Events();
  json::array expected;
  for (const char* id : {"acme", "beta", "zeta"}) {
    auto r = Call("GET", std::string("/v1/tenants/") + id, operator_key);
    ASSERT_EQ(r.status, 200) << r.body;
    expected.push_back(json::parse(r.body));
  }
  for (auto& key : callers) {
    auto r = Call("GET", "/v1/tenants", key);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body), (json::object{{"tenants", expected}}));
  }
  EXPECT_EQ(expected[0].at("state"), "terminating");
  EXPECT_TRUE(expected[0].as_object().contains("disposal_due_at"));
  EXPECT_EQ(expected[1].at("state"), "active");
  EXPECT_EQ(expected[2].at("state"), "disposed");
  // Like GET /v1/tenants/{t}: no personal data, so not audited.
  EXPECT_EQ(audit.Size(operator_log).value_or(0), operator_events);
  EXPECT_EQ(Events(), acme_events);
  for (auto& key : {admin_key, app_key}) {
    auto r = Call("GET", "/v1/tenants", key);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Error(r).first, "permission_denied");
  }
}

TEST_F(AppDisposalTest, TheOperatorDisposesOnceTheReturnPeriodHasEnded) {
  ASSERT_EQ(Terminate(admin_key, R"({"return_period":"P1D"})").status, 200);
  h.clock.now += std::chrono::days(1);
  auto r = Dispose(operator_key, "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Tenant().at("state"), "disposed");
}

}  // namespace
}  // namespace piivault::api
