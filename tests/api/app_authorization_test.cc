// The authorization matrix: every registered route, called as every kind of
// caller, against a table of expected statuses kept here. A route the table
// does not know fails the test, so no endpoint is added without deciding
// who may call it.
#include <map>
#include <set>

#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using testing::AppTest;

// The callers, in the order of the status strings below.
enum Who {
  kOpAdmin,
  kOpLegal,
  kOpSecurity,
  kAuditor,
  kTenantAdmin,
  kAppNoPolicy,
  kAppReadOnly,
  kAppWriteOnly,
  kOtherTenantAdmin,
  kCallers
};
constexpr const char* kWhoNames[kCallers] = {
    "operator-admin",         "operator-legal",
    "operator-security",      "auditor",
    "tenant-admin",           "tenant-app (no policy)",
    "tenant-app (read-only)", "tenant-app (write-only)",
    "other tenant's admin"};

// One deployment with every kind of caller, built afresh for each call so
// that no call depends on another's effects.
class World : public AppTest {
 public:
  void TestBody() override {}
  using AppTest::app;
  using AppTest::Data;

  void Build() {
    SetUp();
    keys[kOpAdmin] = operator_key;
    keys[kTenantAdmin] = admin_key;
    keys[kAppNoPolicy] = app_key;
    auto op = [&](const char* name, vault::Role role) {
      auto issued =
          h.vault->identities.Create(vault::RequestContext(), name, role, "");
      EXPECT_TRUE(issued.has_value());
      return issued ? issued->api_key : "";
    };
    keys[kOpLegal] = op("legal", vault::Role::kOperatorLegal);
    keys[kOpSecurity] = op("security", vault::Role::kOperatorSecurity);
    keys[kAuditor] = op("auditor", vault::Role::kAuditor);
    auto app = [&](const char* name, const std::string& actions) {
      return CreateApp(
          name, R"([{"purposes":["service_delivery"],"collections":["*"],)"
                R"("actions":)" +
                    actions + R"(,"transform":"plain"}])");
    };
    keys[kAppReadOnly] = app("reader", R"(["read","search"])");
    keys[kAppWriteOnly] = app("writer", R"(["write"])");
    keys[kOtherTenantAdmin] = OtherTenantAdminKey();

    auto ann =
        Data("POST", "/v1/tenants/acme/collections/people/records", admin_key,
             R"({"principal":"Ann","fields":{"email":"ann@example.org",)"
             R"("ssn":"123-45-6789"}})");
    EXPECT_EQ(ann.status, 201) << ann.body;
    record = Member(ann, "id");
    token = SsnToken(record);
    auto lockbox =
        Call("POST", "/v1/tenants/acme/lockbox-requests", operator_key,
             R"({"reason":"support case","scope":)"
             R"({"collections":["people"]},"duration":"PT1H"})");
    EXPECT_EQ(lockbox.status, 201) << lockbox.body;
    lockbox_id = Member(lockbox, "id");
    // A completed export, to read and download.
    auto exported = Data("POST", "/v1/tenants/acme/exports", admin_key);
    EXPECT_EQ(exported.status, 202) << exported.body;
    export_id = Member(exported, "id");
    auto ran = h.vault->scheduler.RunDue(h.clock.Now());
    EXPECT_TRUE(ran.has_value() && ran->completed == 1);
    // Disclosure requests of a second operator-legal identity: one
    // received (the operator-legal caller may decide it), one approved (to
    // fulfil).
    std::string legal_two = op("legal two", vault::Role::kOperatorLegal);
    auto disclosure = [&] {
      auto r =
          Call("POST", "/v1/disclosure-requests", legal_two, kDisclosureBody);
      EXPECT_EQ(r.status, 201) << r.body;
      return Member(r, "id");
    };
    disclosure_id = disclosure();
    approved_disclosure_id = disclosure();
    auto approved =
        Call("POST",
             "/v1/disclosure-requests/" + approved_disclosure_id + "/approve",
             keys[kOpLegal]);
    EXPECT_EQ(approved.status, 200) << approved.body;
    // A sub-processor to object to and remove, an incident to act on.
    auto sub_processor = Call(
        "POST", "/v1/sub-processors", operator_key,
        R"({"id":"mailer","name":"Mailer","service":"mail","purpose":"mail",)"
        R"("countries":["US"],"regions":["eu"],)"
        R"("effective_at":"2031-01-01T00:00:00Z"})");
    EXPECT_EQ(sub_processor.status, 201) << sub_processor.body;
    auto incident = h.vault->incidents.Create(
        vault::RequestContext(),
        {"lost laptop", "encrypted", h.clock.Now(), false, {"acme"}, {}},
        "security");
    EXPECT_TRUE(incident.has_value());
    incident_id = incident ? incident->id : "";
  }
  static constexpr const char* kDisclosureBody =
      R"({"tenant":"acme","authority":"District Court","instrument":)"
      R"({"type":"warrant","reference":"W-1","jurisdiction":"DE",)"
      R"("legally_binding":true},"scope":{"principals":["Ann"]}})";

  // The route's pattern with its parameters filled in for this world.
  std::string Path(const std::string& pattern, bool operator_identity) const {
    std::map<std::string, std::string> values{
        {"{t}", "acme"},
        {"{c}", "people"},
        {"{p}", "Ann"},
        {"{id}", ""},
    };
    std::string out;
    std::size_t i = 0;
    while (i < pattern.size()) {
      if (pattern[i] != '{') {
        out.push_back(pattern[i++]);
        continue;
      }
      std::size_t end = pattern.find('}', i);
      std::string param = pattern.substr(i, end - i + 1);
      i = end + 1;
      std::string value = values.at(param);
      if (param == "{id}") {
        if (pattern.find("/records/") != std::string::npos)
          value = record;
        else if (pattern.find("/lockbox-requests/") != std::string::npos)
          value = lockbox_id;
        else if (pattern.find("/exports/") != std::string::npos)
          value = export_id;
        else if (pattern.find("/disclosure-requests/") != std::string::npos)
          value = pattern.ends_with("/fulfil") ? approved_disclosure_id
                                               : disclosure_id;
        else if (pattern.find("/sub-processors/") != std::string::npos)
          value = "mailer";
        else if (pattern.find("/incidents/") != std::string::npos)
          value = incident_id;
        else if (operator_identity)
          value = IdOf(keys[kAuditor]);
        else if (pattern.ends_with("/rotate"))
          value = IdOf(keys[kAppReadOnly]);
        else
          value = IdOf(keys[kAppNoPolicy]);
      }
      if (param == "{p}" && pattern.starts_with("/v1/tenants/{t}/purposes"))
        value = "newsletter";
      out += value;
    }
    return out;
  }

  std::string keys[kCallers];
  std::string record, token, lockbox_id, export_id, incident_id;
  std::string disclosure_id, approved_disclosure_id;
};

struct Expectation {
  std::string query;  // appended to the path
  std::string body;
  // The status each caller gets, in Who order.
  std::vector<int> statuses;
};

// Shorthands for rows of statuses.
std::vector<int> All(int s) { return std::vector<int>(kCallers, s); }
std::vector<int> Only(std::initializer_list<std::pair<Who, int>> allowed) {
  std::vector<int> v(kCallers, 403);
  for (auto [who, status] : allowed) v[who] = status;
  return v;
}

const std::map<std::string, Expectation>& Table() {
  static const auto* table = new std::map<std::string, Expectation>{
      {"GET /v1/whoami", {"", "", All(200)}},
      {"POST /v1/identities",
       {"", R"({"name":"n","role":"auditor"})", Only({{kOpAdmin, 201}})}},
      {"GET /v1/identities", {"", "", Only({{kOpAdmin, 200}})}},
      {"DELETE /v1/identities/{id}", {"", "", Only({{kOpAdmin, 204}})}},
      // An identity may rotate its own key ({id} is the auditor here).
      {"POST /v1/identities/{id}/rotate",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"GET /v1/regions", {"", "", All(200)}},
      {"POST /v1/tenants",
       {"", R"({"id":"newt","regions":["eu"],"default_region":"eu"})",
        Only({{kOpAdmin, 201}})}},
      // The console's operator and auditor views.
      {"GET /v1/tenants",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200}})}},
      {"GET /v1/tenants/{t}",
       {"", "",
        Only({{kOpAdmin, 200},
              {kAuditor, 200},
              {kTenantAdmin, 200},
              {kAppNoPolicy, 200},
              {kAppReadOnly, 200},
              {kAppWriteOnly, 200}})}},
      {"PATCH /v1/tenants/{t}",
       {"", R"({"name":"Acme Two"})", Only({{kOpAdmin, 200}})}},
      {"POST /v1/tenants/{t}/terminate",
       {"", R"({"return_period":"P30D"})",
        Only({{kOpAdmin, 200}, {kTenantAdmin, 200}})}},
      // Allowed, and then refused: the tenant is active.
      {"POST /v1/tenants/{t}/dispose",
       {"", R"({"confirmed_by_tenant":true})",
        Only({{kOpAdmin, 409}, {kTenantAdmin, 409}})}},
      {"GET /v1/tenants/{t}/notifications",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"PUT /v1/tenants/{t}/webhook",
       {"",
        R"({"url":"https://hooks.example.com/piivault",)"
        R"("secret":"0123456789abcdef"})",
        Only({{kTenantAdmin, 200}})}},
      // Allowed, and then not found: the tenant has set no webhook.
      {"GET /v1/tenants/{t}/webhook", {"", "", Only({{kTenantAdmin, 404}})}},
      {"DELETE /v1/tenants/{t}/webhook", {"", "", Only({{kTenantAdmin, 204}})}},
      {"GET /v1/tenants/{t}/locations",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}, {kTenantAdmin, 200}})}},
      // Defect 1: the operator may create only a tenant's first admin.
      {"POST /v1/tenants/{t}/identities",
       {"", R"({"name":"x","role":"tenant-admin"})",
        Only({{kTenantAdmin, 201}})}},
      {"GET /v1/tenants/{t}/identities",
       {"", "", Only({{kOpAdmin, 200}, {kTenantAdmin, 200}})}},
      {"DELETE /v1/tenants/{t}/identities/{id}",
       {"", "", Only({{kTenantAdmin, 204}})}},
      // {id} is the read-only app, which may rotate its own key.
      {"POST /v1/tenants/{t}/identities/{id}/rotate",
       {"", "", Only({{kTenantAdmin, 200}, {kAppReadOnly, 200}})}},
      {"PUT /v1/tenants/{t}/identities/{id}/policy",
       {"", R"({"rules":[]})", Only({{kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/purposes",
       {"", "",
        Only({{kOpAdmin, 200},
              {kAuditor, 200},
              {kTenantAdmin, 200},
              {kAppNoPolicy, 200},
              {kAppReadOnly, 200},
              {kAppWriteOnly, 200}})}},
      {"PUT /v1/tenants/{t}/purposes/{p}",
       {"", R"({"category":"marketing","description":"letters"})",
        Only({{kTenantAdmin, 201}})}},
      {"PUT /v1/tenants/{t}/collections/{c}",
       {"",
        R"({"fields":[{"name":"email","type":"email","searchable":true},)"
        R"({"name":"ssn","type":"ssn"},{"name":"nick","type":"string"}]})",
        Only({{kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/collections/{c}",
       {"", "",
        Only({{kTenantAdmin, 200},
              {kAppNoPolicy, 200},
              {kAppReadOnly, 200},
              {kAppWriteOnly, 200}})}},
      {"GET /v1/tenants/{t}/collections",
       {"", "",
        Only({{kTenantAdmin, 200},
              {kAppNoPolicy, 200},
              {kAppReadOnly, 200},
              {kAppWriteOnly, 200}})}},
      {"POST /v1/tenants/{t}/collections/{c}/records",
       {"", R"({"principal":"Cy","fields":{"email":"cy@example.org"}})",
        Only({{kTenantAdmin, 201}, {kAppWriteOnly, 201}})}},
      {"GET /v1/tenants/{t}/collections/{c}/records/{id}",
       {"", "", Only({{kTenantAdmin, 200}, {kAppReadOnly, 200}})}},
      // Defect 2: the write-only app may write (its reply holds no field:
      // AuthorizationTest.PatchRepliesShowOnlyWhatAReadGrantAllows).
      {"PATCH /v1/tenants/{t}/collections/{c}/records/{id}",
       {"", R"({"fields":{"email":"ann2@example.org"}})",
        Only({{kTenantAdmin, 200}, {kAppWriteOnly, 200}})}},
      {"DELETE /v1/tenants/{t}/collections/{c}/records/{id}",
       {"", "", Only({{kTenantAdmin, 204}})}},
      {"POST /v1/tenants/{t}/collections/{c}/search",
       {"", R"({"match":{"email":"ann@example.org"}})",
        Only({{kTenantAdmin, 200}, {kAppReadOnly, 200}})}},
      {"POST /v1/tenants/{t}/tokenize",
       {"", "TOKENIZE", Only({{kTenantAdmin, 200}})}},
      {"POST /v1/tenants/{t}/detokenize",
       {"", "DETOKENIZE", Only({{kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/principals/{p}",
       {"", "", Only({{kTenantAdmin, 200}, {kAppReadOnly, 200}})}},
      {"GET /v1/tenants/{t}/principals/{p}/export",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"DELETE /v1/tenants/{t}/principals/{p}",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/certificates",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}, {kTenantAdmin, 200}})}},
      // Defect 3: consents take consent_read / consent_write rules.
      {"POST /v1/tenants/{t}/principals/{p}/consents",
       {"", R"({"purpose":"marketing","granted":true})",
        Only({{kTenantAdmin, 201}})}},
      {"GET /v1/tenants/{t}/principals/{p}/consents",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"POST /v1/tenants/{t}/principals/{p}/relocate",
       {"", R"({"region":"us"})", Only({{kTenantAdmin, 200}})}},
      {"GET /v1/audit/public-key", {"", "", All(200)}},
      {"GET /v1/tenants/{t}/audit/events",
       {"", "", Only({{kAuditor, 200}, {kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/audit/head",
       {"", "", Only({{kAuditor, 200}, {kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/audit/proof/inclusion",
       {"?index=0&tree_size=2", "",
        Only({{kAuditor, 200}, {kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/audit/proof/consistency",
       {"?first=1&second=2", "", Only({{kAuditor, 200}, {kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/audit/export",
       {"", "", Only({{kAuditor, 200}, {kTenantAdmin, 200}})}},
      {"GET /v1/operator/audit/events",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"GET /v1/operator/audit/head",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"GET /v1/operator/audit/proof/inclusion",
       {"?index=0&tree_size=1", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"GET /v1/operator/audit/proof/consistency",
       {"?first=1&second=2", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"GET /v1/operator/audit/export",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"POST /v1/tenants/{t}/lockbox-requests",
       {"",
        R"({"reason":"ticket 7","scope":{"collections":["people"]},)"
        R"("duration":"PT1H"})",
        Only({{kOpAdmin, 201}, {kOpLegal, 201}, {kOpSecurity, 201}})}},
      {"GET /v1/tenants/{t}/lockbox-requests",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200},
              {kTenantAdmin, 200}})}},
      // Operator staff see only the requests they made ({id} is the
      // operator-admin's).
      {"GET /v1/tenants/{t}/lockbox-requests/{id}",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 404},
              {kOpSecurity, 404},
              {kAuditor, 200},
              {kTenantAdmin, 200}})}},
      {"POST /v1/tenants/{t}/lockbox-requests/{id}/approve",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"POST /v1/tenants/{t}/lockbox-requests/{id}/deny",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"GET /v1/jobs", {"", "", Only({{kOpAdmin, 200}})}},
      {"GET /v1/webhook-dead-letters", {"", "", Only({{kOpAdmin, 200}})}},
      {"POST /v1/sub-processors",
       {"",
        R"({"id":"cdn","name":"CDN","service":"cdn","purpose":"delivery",)"
        R"("countries":["DE"],"regions":["eu"],)"
        R"("effective_at":"2031-01-01T00:00:00Z"})",
        Only({{kOpAdmin, 201}})}},
      // The register is a disclosure to the customers: their admins read it.
      {"GET /v1/sub-processors",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200},
              {kTenantAdmin, 200},
              {kOtherTenantAdmin, 200}})}},
      {"DELETE /v1/sub-processors/{id}", {"", "", Only({{kOpAdmin, 204}})}},
      {"GET /v1/sub-processors/{id}/objections",
       {"", "", Only({{kOpAdmin, 200}, {kAuditor, 200}})}},
      {"POST /v1/tenants/{t}/sub-processors/{id}/objections",
       {"", R"({"reason":"not in our contract"})",
        Only({{kTenantAdmin, 201}})}},
      {"POST /v1/incidents",
       {"",
        R"({"title":"t","description":"d","detected_at":)"
        R"("2026-01-01T00:00:00Z","pii_breach":true,)"
        R"("affected":{"regions":["eu"]}})",
        Only({{kOpSecurity, 201}})}},
      {"GET /v1/incidents",
       {"", "", Only({{kOpAdmin, 200}, {kOpSecurity, 200}, {kAuditor, 200}})}},
      {"GET /v1/incidents/{id}",
       {"", "", Only({{kOpAdmin, 200}, {kOpSecurity, 200}, {kAuditor, 200}})}},
      {"POST /v1/incidents/{id}/notify", {"", "", Only({{kOpSecurity, 200}})}},
      {"POST /v1/incidents/{id}/updates",
       {"", R"({"note":"contained"})", Only({{kOpSecurity, 200}})}},
      // The compliance evidence holds no PII: operator identities and
      // auditors read it; operator-admin records.
      {"GET /v1/compliance/soa",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200}})}},
      {"GET /v1/compliance/report",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200}})}},
      {"POST /v1/compliance/declarations",
       {"", R"({"control":"A.11.7","text":"shredded on site"})",
        Only({{kOpAdmin, 201}})}},
      {"GET /v1/compliance/declarations",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200}})}},
      {"POST /v1/compliance/audits",
       {"",
        R"({"standard":"ISO/IEC 27018:2019","body":"Cert AG","scope":"all",)"
        R"("period_start":"2020-01-01T00:00:00Z",)"
        R"("period_end":"2020-05-01T00:00:00Z",)"
        R"("issued_at":"2020-06-01T00:00:00Z",)"
        R"("expires_at":"2021-06-01T00:00:00Z","report_sha256":")" +
            std::string(64, 'a') + R"("})",
        Only({{kOpAdmin, 201}})}},
      {"GET /v1/compliance/audits",
       {"", "",
        Only({{kOpAdmin, 200},
              {kOpLegal, 200},
              {kOpSecurity, 200},
              {kAuditor, 200}})}},
      // The tenant's data as a whole: its admin only.
      {"POST /v1/tenants/{t}/exports", {"", "", Only({{kTenantAdmin, 202}})}},
      {"GET /v1/tenants/{t}/exports/{id}",
       {"", "", Only({{kTenantAdmin, 200}})}},
      {"GET /v1/tenants/{t}/exports/{id}/download",
       {"", "", Only({{kTenantAdmin, 200}})}},
      // Legal disclosure requests: operator-legal only ({id} was made by
      // a second operator-legal identity, so the caller may decide it);
      // auditors read them; the tenant lists its own disclosures.
      {"POST /v1/disclosure-requests",
       {"", World::kDisclosureBody, Only({{kOpLegal, 201}})}},
      {"GET /v1/disclosure-requests",
       {"", "", Only({{kOpLegal, 200}, {kAuditor, 200}})}},
      {"GET /v1/disclosure-requests/{id}",
       {"", "", Only({{kOpLegal, 200}, {kAuditor, 200}})}},
      {"POST /v1/disclosure-requests/{id}/approve",
       {"", "", Only({{kOpLegal, 200}})}},
      {"POST /v1/disclosure-requests/{id}/reject",
       {"", R"({"reason":"not binding here"})", Only({{kOpLegal, 200}})}},
      {"POST /v1/disclosure-requests/{id}/fulfil",
       {"", "", Only({{kOpLegal, 200}})}},
      {"GET /v1/tenants/{t}/disclosures",
       {"", "", Only({{kTenantAdmin, 200}})}},
  };
  return *table;
}

TEST(AuthorizationMatrixTest, EveryRouteAsEveryCaller) {
  std::set<std::string> registered;
  std::vector<App::RouteInfo> routes;
  {
    World probe;
    routes = probe.app.RouteTable();
  }
  for (auto& route : routes) {
    std::string key = route.method + " " + route.pattern;
    registered.insert(key);
    auto it = Table().find(key);
    ASSERT_NE(it, Table().end())
        << key << " is registered but has no row in the authorization table";
    const Expectation& want = it->second;
    ASSERT_EQ(want.statuses.size(), static_cast<std::size_t>(kCallers));
    for (int who = 0; who < kCallers; ++who) {
      SCOPED_TRACE(key + " as " + kWhoNames[who]);
      World w;
      w.Build();
      if (::testing::Test::HasFatalFailure()) return;
      bool operator_identity = route.pattern.starts_with("/v1/identities");
      std::string body = want.body;
      if (body == "TOKENIZE")
        body = R"({"collection":"people","record":")" + w.record +
               R"(","fields":["ssn"]})";
      if (body == "DETOKENIZE") body = R"({"tokens":[")" + w.token + R"("]})";
      auto r = w.Data(route.method,
                      w.Path(route.pattern, operator_identity) + want.query,
                      w.keys[who], body);
      EXPECT_EQ(r.status, want.statuses[who]) << r.body;
      // A refusal never carries personal data.
      if (r.status >= 400) {
        EXPECT_EQ(r.body.find("ann@example.org"), std::string::npos);
        EXPECT_EQ(r.body.find("6789"), std::string::npos);
      }
    }
  }
  for (auto& [key, row] : Table())
    EXPECT_TRUE(registered.contains(key))
        << key << " is in the table but not registered";
}

}  // namespace
}  // namespace piivault::api
