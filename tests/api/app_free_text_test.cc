// Free text a person reads (tenant and identity names, purpose descriptions,
// consent method and evidence, lockbox reasons) refuses control characters
// and bidirectional controls at every entry point: 400 validation_failed
// naming the member, and nothing changes. Letters of any script and emoji
// pass.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;

class AppFreeTextTest : public testing::AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    CreatePerson("Ann", R"({"email":"ann@example.org"})");
  }

  // A request whose body has `text` (JSON-escaped, in quotes) in place of
  // TEXT.
  struct Entry {
    std::string method, path;
    const std::string* key;
    std::string body, field;
    HttpResponse Send(AppFreeTextTest& t, const std::string& text) const {
      std::string filled = body;
      filled.replace(filled.find("TEXT"), 4, text);
      return t.Call(method, path, *key, filled);
    }
  };

  // Each forbidden class, as a JSON string (escaped, so the body is valid
  // JSON and valid UTF-8, as every body reaching a handler is).
  static std::vector<std::string> Forbidden() {
    return {
        R"("Acme\u0000 Ltd")",   // NUL
        R"("Acme\u0007 Ltd")",   // BEL
        R"("Acme\n Ltd")",       // line feed
        R"("Acme\u001b[2J")",    // ANSI escape
        R"("Acme\u007f Ltd")",   // DEL
        R"("Acme\u0085 Ltd")",   // C1 next line
        R"("Acme \u202eynod")",  // right-to-left override
        R"("Acme \u202a Ltd")",  // left-to-right embedding
        R"("Acme \u2066 Ltd")",  // left-to-right isolate
        R"("Acme \u2069 Ltd")",  // pop directional isolate
        R"("Acme \u200f Ltd")",  // right-to-left mark
        R"("Acme \u061c Ltd")",  // Arabic letter mark
    };
  }

  // Every forbidden text is refused, naming the member, changing nothing;
  // then a name in another script with an emoji is accepted.
  void ExpectOnlyCleanTextAccepted(const Entry& entry) {
    auto before = Stores();
    for (const std::string& text : Forbidden()) {
      auto r = entry.Send(*this, text);
      EXPECT_EQ(r.status, 400) << text << " " << r.body;
      EXPECT_EQ(Error(r),
                std::pair(std::string("validation_failed"), entry.field))
          << text << " " << r.body;
    }
    EXPECT_EQ(Stores(), before) << entry.method << " " << entry.path;
    auto ok = entry.Send(*this, R"("Zoë Müller GmbH 🚀")");
    EXPECT_GE(ok.status, 200) << ok.body;
    EXPECT_LT(ok.status, 300) << ok.body;
  }
};

TEST_F(AppFreeTextTest, TenantNameOnCreate) {
  ExpectOnlyCleanTextAccepted(
      {"POST", "/v1/tenants", &operator_key,
       R"({"id":"beta","name":TEXT,"regions":["eu"],"default_region":"eu"})",
       "name"});
  auto beta = Call("GET", "/v1/tenants/beta", operator_key);
  ASSERT_EQ(beta.status, 200) << beta.body;
  EXPECT_EQ(Member(beta, "name"), "Zoë Müller GmbH 🚀");
}

TEST_F(AppFreeTextTest, TenantNameOnPatch) {
  ExpectOnlyCleanTextAccepted(
      {"PATCH", "/v1/tenants/acme", &operator_key, R"({"name":TEXT})", "name"});
}

TEST_F(AppFreeTextTest, PurposeDescription) {
  ExpectOnlyCleanTextAccepted(
      {"PUT", "/v1/tenants/acme/purposes/newsletter", &admin_key,
       R"({"category":"marketing","description":TEXT})", "description"});
  // Also when it would replace an existing description.
  ExpectOnlyCleanTextAccepted(
      {"PUT", "/v1/tenants/acme/purposes/marketing", &admin_key,
       R"({"category":"marketing","description":TEXT})", "description"});
}

TEST_F(AppFreeTextTest, ConsentMethodAndEvidence) {
  const std::string path = "/v1/tenants/acme/principals/Ann/consents";
  ExpectOnlyCleanTextAccepted(
      {"POST", path, &admin_key,
       R"({"purpose":"marketing","granted":true,"method":TEXT})", "method"});
  ExpectOnlyCleanTextAccepted(
      {"POST", path, &admin_key,
       R"({"purpose":"marketing","granted":true,"evidence":TEXT})",
       "evidence"});
}

TEST_F(AppFreeTextTest, LockboxReason) {
  ExpectOnlyCleanTextAccepted(
      {"POST", "/v1/tenants/acme/lockbox-requests", &operator_key,
       R"({"reason":TEXT,"scope":{"collections":["*"]},"duration":"PT1H"})",
       "reason"});
}

TEST_F(AppFreeTextTest, IdentityNames) {
  ExpectOnlyCleanTextAccepted({"POST", "/v1/identities", &operator_key,
                               R"({"name":TEXT,"role":"auditor"})", "name"});
  ExpectOnlyCleanTextAccepted({"POST", "/v1/tenants/acme/identities",
                               &admin_key,
                               R"({"name":TEXT,"role":"tenant-app"})", "name"});
}

}  // namespace
}  // namespace piivault::api
