// Access guards of the data plane that nothing else pins down: a tenant's
// data is refused to every identity of another tenant, and a tenant-app
// whose rule only masks a field never gets it in the clear through tokens.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;

class AppGuardsTest : public testing::AppTest {
 protected:
  const std::string records = "/v1/tenants/acme/collections/people/records";
  static constexpr const char* kSsn = "219-09-9999";

  void SetUp() override {
    AppTest::SetUp();
    ann_record = CreatePerson(
        "Ann", R"({"email":"ann@example.org","ssn":"219-09-9999"})");
    ssn_token = SsnToken(ann_record);
  }

  HttpResponse Tokenize(const std::string& key) {
    return Data("POST", "/v1/tenants/acme/tokenize", key,
                R"({"collection":"people","record":")" + ann_record +
                    R"(","fields":["ssn"]})");
  }
  HttpResponse Detokenize(const std::string& key) {
    return Data("POST", "/v1/tenants/acme/detokenize", key,
                R"({"tokens":[")" + ssn_token + R"("]})");
  }

  std::string ann_record, ssn_token;
};

// A token stands for the value in the clear, so handing one out or
// redeeming one needs a rule with "transform":"plain" for the field.
TEST_F(AppGuardsTest, AMaskOnlyRuleNeitherTokenizesNorDetokenizes) {
  SetAppRule(R"(["read","tokenize","detokenize"])", "");
  auto read = Data("GET", records + "/" + ann_record, app_key);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body.find(kSsn), std::string::npos) << "masked: " << read.body;

  auto tokenized = Tokenize(app_key);
  EXPECT_EQ(tokenized.status, 403) << tokenized.body;
  EXPECT_EQ(Error(tokenized).first, "permission_denied");
  EXPECT_EQ(tokenized.body.find(ssn_token), std::string::npos);
  auto detokenized = Detokenize(app_key);
  EXPECT_EQ(detokenized.status, 403) << detokenized.body;
  EXPECT_EQ(Error(detokenized).first, "permission_denied");
  EXPECT_EQ(detokenized.body.find(kSsn), std::string::npos) << detokenized.body;

  // The same rule with "transform":"plain" is what allows both.
  SetAppRule(R"(["read","tokenize","detokenize"])", "plain");
  auto plain_tokenized = Tokenize(app_key);
  EXPECT_EQ(plain_tokenized.status, 200) << plain_tokenized.body;
  EXPECT_NE(plain_tokenized.body.find(ssn_token), std::string::npos);
  auto plain_detokenized = Detokenize(app_key);
  EXPECT_EQ(plain_detokenized.status, 200) << plain_detokenized.body;
  EXPECT_NE(plain_detokenized.body.find(kSsn), std::string::npos);
}

// Tenant B's identities, whatever they may do in B, get 403 on every data
// endpoint of tenant A, see nothing of it and change nothing.
TEST_F(AppGuardsTest, AnotherTenantsIdentitiesGetNothing) {
  ASSERT_EQ(
      Call("POST", "/v1/tenants", operator_key,
           R"({"id":"other","regions":["eu","us"],"default_region":"eu"})")
          .status,
      201);
  auto other_admin = Call("POST", "/v1/tenants/other/identities", operator_key,
                          R"({"name":"adm","role":"tenant-admin"})");
  ASSERT_EQ(other_admin.status, 201) << other_admin.body;
  auto other_app = Call("POST", "/v1/tenants/other/identities",
                        Member(other_admin, "api_key"),
                        R"({"name":"app","role":"tenant-app"})");
  ASSERT_EQ(other_app.status, 201) << other_app.body;
  const std::string other_admin_key = Member(other_admin, "api_key");
  const std::string other_app_key = Member(other_app, "api_key");
  // In its own tenant the app may do everything, in the clear.
  ASSERT_EQ(Call("PUT", "/v1/tenants/other/collections/people", other_admin_key,
                 R"({"fields":[{"name":"email","type":"email"}]})")
                .status,
            201);
  std::string app_id = Member(other_app, "id");
  auto policy =
      Call("PUT", "/v1/tenants/other/identities/" + app_id + "/policy",
           other_admin_key,
           R"({"rules":[{"purposes":["service_delivery"],"collections":["*"],)"
           R"("fields":["*"],"actions":["read","write","delete","search",)"
           R"("tokenize","detokenize","export"],)"
           R"("transform":"plain"}]})");
  ASSERT_EQ(policy.status, 200) << policy.body;
  ASSERT_EQ(Call("POST", "/v1/tenants/acme/principals/Ann/consents", admin_key,
                 R"({"purpose":"marketing","granted":true})")
                .status,
            201);

  struct Step {
    std::string method, path, body;
  };
  const std::string ann = "/v1/tenants/acme/principals/Ann";
  const std::vector<Step> steps = {
      {"POST", records,
       R"({"principal":"Eve","fields":{"email":"eve@example.org"}})"},
      {"POST", records,
       R"({"principal":"Ann","fields":{"email":"ann2@example.org"}})"},
      {"GET", records + "/" + ann_record, ""},
      {"PATCH", records + "/" + ann_record,
       R"({"fields":{"email":"x@example.org"}})"},
      {"DELETE", records + "/" + ann_record, ""},
      {"POST", "/v1/tenants/acme/collections/people/search",
       R"({"match":{"email":"ann@example.org"}})"},
      {"POST", "/v1/tenants/acme/tokenize",
       R"({"collection":"people","record":")" + ann_record +
           R"(","fields":["ssn"]})"},
      {"POST", "/v1/tenants/acme/detokenize",
       R"({"tokens":[")" + ssn_token + R"("]})"},
      {"GET", ann, ""},
      {"GET", ann + "/export", ""},
      {"DELETE", ann, ""},
      {"GET", ann + "/consents", ""},
      {"POST", ann + "/consents", R"({"purpose":"marketing","granted":false})"},
      {"POST", ann + "/relocate", R"({"region":"us"})"},
      {"GET", "/v1/tenants/acme/certificates", ""},
  };
  auto before = Stores();
  for (const std::string* key : {&other_admin_key, &other_app_key}) {
    for (const Step& step : steps) {
      SCOPED_TRACE(step.method + " " + step.path +
                   (key == &other_app_key ? " (tenant-app)" : " (admin)"));
      auto r = Data(step.method, step.path, *key, step.body);
      EXPECT_EQ(r.status, 403) << r.body;
      EXPECT_EQ(Error(r).first, "permission_denied") << r.body;
      for (const char* pii : {"ann@example.org", kSsn, "Ann"})
        EXPECT_EQ(r.body.find(pii), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find(ssn_token), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(Stores(), before);
  // Tenant A's own admin still sees everything as it was.
  auto got = Data("GET", records + "/" + ann_record, admin_key);
  ASSERT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("ann@example.org"), std::string::npos);
}

}  // namespace
}  // namespace piivault::api
