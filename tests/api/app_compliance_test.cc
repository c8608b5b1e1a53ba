// The compliance evidence over HTTP: the SoA an auditor reads holds no PII
// (distinctive values stored first, then searched for in the body);
// declarations are recorded with who and when and shown on their
// organizational control; the audit register gives next_audit_due a year
// after the newest audit and clears 18.2.1; other roles are refused.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using std::chrono::days;

class AppComplianceTest : public testing::AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    auto auditor = h.vault->identities.Create(vault::RequestContext(), "aud",
                                              vault::Role::kAuditor, "");
    ASSERT_TRUE(auditor.has_value());
    auditor_key = auditor->api_key;
  }

  json::object Soa(const std::string& key) {
    auto r = Call("GET", "/v1/compliance/soa", key);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
  }
  static const json::object* Control(const json::object& soa,
                                     std::string_view id) {
    for (auto& c : soa.at("controls").as_array())
      if (c.at("id").as_string() == id) return &c.as_object();
    ADD_FAILURE() << "no control " << id;
    return nullptr;
  }
  static std::string StatusOf(const json::object& soa, std::string_view id) {
    auto* c = Control(soa, id);
    return c ? std::string(c->at("status").as_string()) : "";
  }

  std::string AuditBody(TimePoint issued, const std::string& sha) {
    return R"({"standard":"ISO/IEC 27018:2019","body":"Cert AG",)"
           R"("scope":"piivault production","period_start":")" +
           FormatRfc3339(issued - days(90)) + R"(","period_end":")" +
           FormatRfc3339(issued - days(10)) + R"(","issued_at":")" +
           FormatRfc3339(issued) + R"(","expires_at":")" +
           FormatRfc3339(issued + days(365)) + R"(","report_sha256":")" + sha +
           R"("})";
  }

  std::string auditor_key;
};

TEST_F(AppComplianceTest, SoaAsAuditorHoldsNoPii) {
  const std::string email = "zanzibar.quokka.7731@example.org";
  const std::string ssn = "078-05-1120";
  const std::string principal = "principal-xyzzy-4471";
  std::string record = CreatePerson(
      principal, R"({"email":")" + email + R"(","ssn":")" + ssn + R"("})");
  ASSERT_FALSE(record.empty());
  ASSERT_EQ(Data("GET", "/v1/tenants/acme/collections/people/records/" + record,
                 admin_key)
                .status,
            200);  // an audit event about it, too

  auto r = Call("GET", "/v1/compliance/soa", auditor_key);
  ASSERT_EQ(r.status, 200) << r.body;
  for (auto& value : {email, ssn, principal, std::string("zanzibar")})
    EXPECT_EQ(r.body.find(value), std::string::npos) << value;
  // It is the live document: the principal is counted in its region.
  auto soa = json::parse(r.body).as_object();
  auto* location = Control(soa, "A.12.1");
  ASSERT_NE(location, nullptr);
  int64_t principals = 0;
  for (auto& region : location->at("evidence").at("regions").as_array())
    principals += region.at("principals").as_int64();
  EXPECT_EQ(principals, 1);
}

TEST_F(AppComplianceTest, DeclarationsAreRecordedWithWhoAndWhen) {
  auto r = Call("POST", "/v1/compliance/declarations", operator_key,
                R"({"control":"A.11.2","text":"No printing of PII."})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto declaration = json::parse(r.body).as_object();
  EXPECT_EQ(declaration.at("by").as_string(), IdOf(operator_key));
  EXPECT_EQ(declaration.at("at").as_string(), FormatRfc3339(h.clock.now));

  // Never on a control implemented by code, never an unknown one.
  for (auto* control : {"A.11.6", "A.99.9"}) {
    auto bad =
        Call("POST", "/v1/compliance/declarations", operator_key,
             R"({"control":")" + std::string(control) + R"(","text":"done"})");
    EXPECT_EQ(bad.status, 400) << control;
    EXPECT_NE(bad.body.find("validation_failed"), std::string::npos);
  }
  auto list = Call("GET", "/v1/compliance/declarations", auditor_key);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body).at("declarations").as_array().size(), 1u);

  auto soa = Soa(auditor_key);
  EXPECT_EQ(StatusOf(soa, "A.11.2"), "organizational");
  auto* c = Control(soa, "A.11.2");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->at("evidence").at("declaration").at("text").as_string(),
            "No printing of PII.");
}

TEST_F(AppComplianceTest, AuditRegisterGivesNextDueAndClearsIndependentReview) {
  EXPECT_EQ(StatusOf(Soa(operator_key), "18.2.1"), "nonconformity");
  auto empty = Call("GET", "/v1/compliance/audits", auditor_key);
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(json::parse(empty.body).at("next_audit_due").is_null());

  const TimePoint issued = h.clock.now - days(20);
  auto bad = Call("POST", "/v1/compliance/audits", operator_key,
                  AuditBody(issued, "not-a-digest"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("report_sha256"), std::string::npos);
  auto r = Call("POST", "/v1/compliance/audits", operator_key,
                AuditBody(issued, std::string(64, 'e')));
  ASSERT_EQ(r.status, 201) << r.body;

  auto list = Call("GET", "/v1/compliance/audits", auditor_key);
  ASSERT_EQ(list.status, 200);
  auto doc = json::parse(list.body).as_object();
  EXPECT_EQ(doc.at("audits").as_array().size(), 1u);
  EXPECT_EQ(doc.at("next_audit_due").as_string(),
            FormatRfc3339(issued + days(365)));
  auto soa = Soa(auditor_key);
  EXPECT_EQ(StatusOf(soa, "18.2.1"), "implemented");
  EXPECT_EQ(soa.at("audits").at("audits").as_array().size(), 1u);
}

TEST_F(AppComplianceTest, OtherRolesAreRefused) {
  for (auto& key : {admin_key, app_key}) {
    EXPECT_EQ(Call("GET", "/v1/compliance/soa", key).status, 403);
    EXPECT_EQ(Call("GET", "/v1/compliance/audits", key).status, 403);
    EXPECT_EQ(Call("GET", "/v1/compliance/declarations", key).status, 403);
  }
  EXPECT_EQ(Call("POST", "/v1/compliance/declarations", auditor_key,
                 R"({"control":"A.11.2","text":"x"})")
                .status,
            403);
  EXPECT_EQ(Call("POST", "/v1/compliance/audits", auditor_key,
                 AuditBody(h.clock.now - days(1), std::string(64, 'e')))
                .status,
            403);
}

}  // namespace
}  // namespace piivault::api
