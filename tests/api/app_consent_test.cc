// Purpose limitation through the HTTP API: every data-plane endpoint under
// every purpose category, for principals who granted, withdrew or never gave
// consent. Marketing and advertising are served per principal only with an
// active consent for that very purpose; other purposes never look at the
// ledger.
#include <map>
#include <set>

#include "app_fixture.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using testing::Dump;

enum class Consent { kGranted, kWithdrawn, kNever };

const char* Name(Consent c) {
  switch (c) {
    case Consent::kGranted:
      return "granted";
    case Consent::kWithdrawn:
      return "withdrawn";
    case Consent::kNever:
      return "never";
  }
  return "?";
}

class AppConsentTest : public testing::AppTest {
 protected:
  const std::string records = "/v1/tenants/acme/collections/people/records";

  // A principal with two records (one to read, one to delete), both with
  // e-mail `email`, created under service_delivery.
  struct Subject {
    std::string principal, email, kept, doomed, token;
  };
  Subject MakeSubject(const std::string& principal) {
    Subject s{principal, principal + "@example.org", "", "", ""};
    for (std::string* id : {&s.kept, &s.doomed}) {
      auto r =
          Data("POST", records, admin_key,
               R"({"principal":")" + principal + R"(","fields":{"email":")" +
                   s.email + R"(","ssn":"219-09-9999"}})");
      EXPECT_EQ(r.status, 201) << r.body;
      *id = Member(r, "id");
    }
    auto tokens = Data("POST", "/v1/tenants/acme/tokenize", admin_key,
                       R"({"collection":"people","record":")" + s.kept +
                           R"(","fields":["ssn"]})");
    EXPECT_EQ(tokens.status, 200) << tokens.body;
    s.token = std::string(
        json::parse(tokens.body).at("tokens").at("ssn").as_string());
    return s;
  }

  void SetConsent(const std::string& principal, const std::string& purpose,
                  bool granted) {
    auto r =
        Call("POST", "/v1/tenants/acme/principals/" + principal + "/consents",
             admin_key,
             R"({"purpose":")" + purpose + R"(","granted":)" +
                 (granted ? "true" : "false") +
                 R"(,"method":"web_form","evidence":"ref-1"})");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Status of each data-plane endpoint for `s` under `purpose`; for search,
  // 200 with the subject's records, or 204 (our marker) when it is filtered
  // out.
  std::map<std::string, int> Outcomes(const Subject& s,
                                      const std::string& purpose) {
    std::map<std::string, int> out;
    auto call = [&](const std::string& method, const std::string& path,
                    const std::string& body = "") {
      return Call(method, path, admin_key, body, purpose);
    };
    out["records.create"] =
        call("POST", records,
             R"({"principal":")" + s.principal +
                 R"(","fields":{"email":"new-)" + s.email + R"("}})")
            .status;
    out["records.get"] = call("GET", records + "/" + s.kept).status;
    out["records.update"] = call("PATCH", records + "/" + s.kept,
                                 R"({"fields":{"email":")" + s.email + R"("}})")
                                .status;
    auto found = call("POST", "/v1/tenants/acme/collections/people/search",
                      R"({"match":{"email":")" + s.email + R"("}})");
    out["records.search"] =
        found.status != 200 ? found.status
        : json::parse(found.body).at("records").as_array().empty() ? 204
                                                                   : 200;
    out["tokens.tokenize"] = call("POST", "/v1/tenants/acme/tokenize",
                                  R"({"collection":"people","record":")" +
                                      s.kept + R"(","fields":["ssn"]})")
                                 .status;
    out["tokens.detokenize"] = call("POST", "/v1/tenants/acme/detokenize",
                                    R"({"tokens":[")" + s.token + R"("]})")
                                   .status;
    out["principals.get"] =
        call("GET", "/v1/tenants/acme/principals/" + s.principal).status;
    out["principals.export"] =
        call("GET", "/v1/tenants/acme/principals/" + s.principal + "/export")
            .status;
    out["records.delete"] = call("DELETE", records + "/" + s.doomed).status;
    out["principals.erase"] =
        call("DELETE", "/v1/tenants/acme/principals/" + s.principal).status;
    return out;
  }
};

TEST_F(AppConsentTest, EveryEndpointEveryPurposeEveryConsentState) {
  const std::map<std::string, int> served = {
      {"records.create", 201},  {"records.get", 200},
      {"records.update", 200},  {"records.search", 200},
      {"tokens.tokenize", 200}, {"tokens.detokenize", 200},
      {"principals.get", 200},  {"principals.export", 200},
      {"records.delete", 204},  {"principals.erase", 200}};
  std::map<std::string, int> refused;
  for (auto& [endpoint, status] : served)
    refused[endpoint] = endpoint == "records.search" ? 204 : 403;

  int n = 0;
  for (std::string purpose :
       {"service_delivery", "analytics", "marketing", "advertising"}) {
    const bool needs_consent =
        purpose == "marketing" || purpose == "advertising";
    for (Consent state :
         {Consent::kGranted, Consent::kWithdrawn, Consent::kNever}) {
      SCOPED_TRACE(purpose + " / " + Name(state));
      Subject s = MakeSubject("Subject-" + std::to_string(n++));
      if (state != Consent::kNever) SetConsent(s.principal, purpose, true);
      if (state == Consent::kWithdrawn) SetConsent(s.principal, purpose, false);
      bool expect_served = !needs_consent || state == Consent::kGranted;
      EXPECT_EQ(Outcomes(s, purpose), expect_served ? served : refused);
    }
  }
}

TEST_F(AppConsentTest, ConsentIsPerPurposeAndRefusalsSayConsentRequired) {
  Subject s = MakeSubject("Per-Purpose");
  SetConsent(s.principal, "marketing", true);
  auto ad = Call("GET", records + "/" + s.kept, admin_key, "", "advertising");
  EXPECT_EQ(ad.status, 403);
  EXPECT_NE(ad.body.find("consent_required"), std::string::npos) << ad.body;
  EXPECT_EQ(
      Call("GET", records + "/" + s.kept, admin_key, "", "marketing").status,
      200);
}

// Withdrawal takes effect for the very next request; the service purposes
// answer exactly as before.
TEST_F(AppConsentTest, WithdrawalDeniesTheNextRequestAndLeavesServiceAlone) {
  Subject s = MakeSubject("Withdrawer");
  SetConsent(s.principal, "marketing", true);
  SetConsent(s.principal, "advertising", true);
  auto service_before = Data("GET", records + "/" + s.kept, admin_key);
  ASSERT_EQ(
      Call("GET", records + "/" + s.kept, admin_key, "", "marketing").status,
      200);
  SetConsent(s.principal, "marketing", false);
  SetConsent(s.principal, "advertising", false);
  EXPECT_EQ(
      Call("GET", records + "/" + s.kept, admin_key, "", "marketing").status,
      403);
  auto service_after = Data("GET", records + "/" + s.kept, admin_key);
  EXPECT_EQ(service_after.status, 200);
  EXPECT_EQ(service_after.body, service_before.body);

  auto ledger =
      Call("GET", "/v1/tenants/acme/principals/Withdrawer/consents", admin_key);
  ASSERT_EQ(ledger.status, 200) << ledger.body;
  auto doc = json::parse(ledger.body);
  EXPECT_EQ(doc.at("current"), json::value(json::object{{"advertising", false},
                                                        {"marketing", false}}));
  EXPECT_EQ(doc.at("history").as_array().size(), 4u);
  EXPECT_EQ(doc.at("history").at(0).at("evidence"), "ref-1");
}

// Purposes that need no consent never read the ledger: with the consent
// state made unreadable, service requests are served and marketing ones fail.
TEST_F(AppConsentTest, OtherPurposesNeverReadTheLedger) {
  Subject s = MakeSubject("Unreadable");
  SetConsent(s.principal, "marketing", true);
  // The consent state, sealed in the principal's key entry, made garbage;
  // the key itself stays intact.
  int corrupted = 0;
  for (auto& kv : Dump(*h.eu_backend)) {
    if (!kv.key.starts_with("pkey/")) continue;
    auto entry = vault::PrincipalKeyState::Decode(kv.value);
    ASSERT_TRUE(entry.has_value());
    if (entry->consents.empty()) continue;
    entry->consents = "garbage";
    storage::WriteBatch b;
    b.Put(kv.key, entry->Encode());
    ASSERT_TRUE(h.eu_backend->Write(b).ok());
    ++corrupted;
  }
  ASSERT_EQ(corrupted, 1);
  for (std::string purpose : {"service_delivery", "analytics"})
    EXPECT_EQ(
        Call("GET", records + "/" + s.kept, admin_key, "", purpose).status, 200)
        << purpose;
  EXPECT_EQ(
      Call("GET", records + "/" + s.kept, admin_key, "", "marketing").status,
      500);
}

TEST_F(AppConsentTest, BadConsentRequestsChangeNothing) {
  Subject s = MakeSubject("Bad-Input");
  auto before = Dump(*h.eu_backend);
  const std::string path = "/v1/tenants/acme/principals/Bad-Input/consents";
  struct Case {
    std::string path, body;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {path, R"({"purpose":"no_such","granted":true})", 400},
           {path, R"({"purpose":"marketing"})", 400},
           {path, R"({"purpose":"marketing","granted":"yes"})", 400},
           {path, R"({"purpose":"marketing","granted":true,"extra":1})", 400},
           {"/v1/tenants/acme/principals/Nobody/consents",
            R"({"purpose":"marketing","granted":true})", 404}}) {
    auto r = Call("POST", c.path, admin_key, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " " << r.body;
  }
  // Not for operators.
  EXPECT_EQ(Call("POST", path, operator_key,
                 R"({"purpose":"marketing","granted":true})")
                .status,
            403);
  EXPECT_EQ(Dump(*h.eu_backend), before);
}

// A tenant's own purposes of a marketing or advertising category need
// consent like the defaults; categories never change; unknown purposes are
// refused.
TEST_F(AppConsentTest, TenantPurposesKeepTheirCategoryAndItsConsentRule) {
  Subject s = MakeSubject("Reader");
  auto created = Call("PUT", "/v1/tenants/acme/purposes/newsletter", admin_key,
                      R"({"category":"marketing","description":"monthly"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto get = [&](const std::string& purpose) {
    return Call("GET", records + "/" + s.kept, admin_key, "", purpose);
  };
  EXPECT_EQ(get("newsletter").status, 403);
  SetConsent(s.principal, "newsletter", true);
  EXPECT_EQ(get("newsletter").status, 200);

  for (std::string purpose : {"marketing", "newsletter", "service_delivery"}) {
    auto changed = Call("PUT", "/v1/tenants/acme/purposes/" + purpose,
                        admin_key, R"({"category":"analytics"})");
    EXPECT_EQ(changed.status, 409) << purpose << " " << changed.body;
    EXPECT_NE(changed.body.find("failed_precondition"), std::string::npos);
  }
  EXPECT_EQ(get("no_such_purpose").status, 400);
  EXPECT_NE(get("no_such_purpose").body.find("unknown_purpose"),
            std::string::npos);
}

// A principal's export holds its records and its whole consent ledger, and
// follows the caller's export grant like any other read.
TEST_F(AppConsentTest, ExportHoldsTheRecordsAndTheWholeConsentLedger) {
  Subject s = MakeSubject("Exported");
  SetConsent(s.principal, "marketing", true);
  SetConsent(s.principal, "advertising", true);
  SetConsent(s.principal, "marketing", false);
  const std::string path = "/v1/tenants/acme/principals/Exported/export";
  auto r = Data("GET", path, admin_key);
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = json::parse(r.body);
  EXPECT_EQ(doc.at("format"), "piivault-principal-export-v1");
  EXPECT_EQ(doc.at("tenant"), "acme");
  EXPECT_EQ(doc.at("principal"), "Exported");
  EXPECT_EQ(doc.at("region"), "eu");
  auto& records = doc.at("records").as_array();
  ASSERT_EQ(records.size(), 2u);
  std::set<std::string> ids;
  for (auto& rec : records) {
    ids.insert(std::string(rec.at("id").as_string()));
    EXPECT_EQ(rec.at("collection"), "people");
    EXPECT_EQ(rec.at("fields").at("email").as_string(), s.email);
    EXPECT_EQ(rec.at("fields").at("ssn"), "219-09-9999");
  }
  EXPECT_EQ(ids, (std::set<std::string>{s.kept, s.doomed}));
  EXPECT_EQ(
      doc.at("consents").at("current"),
      json::value(json::object{{"advertising", true}, {"marketing", false}}));
  auto& history = doc.at("consents").at("history").as_array();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].at("purpose"), "marketing");
  EXPECT_EQ(history[0].at("granted"), true);
  EXPECT_EQ(history[1].at("purpose"), "advertising");
  EXPECT_EQ(history[2].at("purpose"), "marketing");
  EXPECT_EQ(history[2].at("granted"), false);
  EXPECT_EQ(history[2].at("evidence"), "ref-1");
  EXPECT_EQ(Last().action, "principals.export");

  // A tenant-app needs an export rule; a masking one masks.
  EXPECT_EQ(Data("GET", path, app_key).status, 403);
  SetAppRule(R"(["read"])", "plain");
  EXPECT_EQ(Data("GET", path, app_key).status, 403);  // read is not export
  SetAppRule(R"(["export"])", "");
  auto masked = Data("GET", path, app_key);
  ASSERT_EQ(masked.status, 200) << masked.body;
  auto masked_doc = json::parse(masked.body);
  for (auto& rec : masked_doc.at("records").as_array())
    EXPECT_EQ(rec.at("fields").at("ssn"), "***-**-9999");

  // Unknown principals: 404; operators without a lockbox: 403.
  EXPECT_EQ(Data("GET", "/v1/tenants/acme/principals/Nobody/export", admin_key)
                .status,
            404);
  EXPECT_EQ(Data("GET", path, operator_key).status, 403);
}

}  // namespace
}  // namespace piivault::api
