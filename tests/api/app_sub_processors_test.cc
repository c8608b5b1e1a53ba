// The sub-processor register over HTTP: a change reaches the inbox of every
// tenant with data in its regions and no other; an effective_at inside the
// notice period is refused with nothing changed; the locations report lists
// the entries touching the tenant's regions; objections reach
// operator-admin; other roles are refused.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using std::chrono::days;

class AppSubProcessorsTest : public testing::AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    other_key = OtherTenantAdminKey();  // "other", region eu only
  }

  // A body for POST /v1/sub-processors: `id` in `regions` (a JSON array),
  // effective `ahead` from now.
  std::string Entry(const std::string& regions,
                    std::chrono::seconds ahead = days(31)) {
    return R"({"id":"mailer","name":"Mailer Inc.","service":"e-mail",)"
           R"("purpose":"sending mail","countries":["US","IE"],)"
           R"("contract_reference":"DPA-7","regions":)" +
           regions + R"(,"effective_at":")" +
           FormatRfc3339(h.clock.now + ahead) + R"("})";
  }

  json::array Notices(const std::string& tenant, const std::string& key) {
    auto r = Call("GET", "/v1/tenants/" + tenant + "/notifications", key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).at("notifications").as_array();
  }

  json::array Listed() {
    auto r = Call("GET", "/v1/sub-processors", admin_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).at("sub_processors").as_array();
  }

  std::string other_key;
};

TEST_F(AppSubProcessorsTest, AChangeNotifiesTheAffectedTenantsOnly) {
  auto added =
      Call("POST", "/v1/sub-processors", operator_key, Entry("[\"us\"]"));
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(json::parse(added.body).at("change"), "added");
  // acme has us among its regions; "other" has only eu.
  auto notices = Notices("acme", admin_key);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].at("type"), "sub_processor_change");
  auto& payload = notices[0].at("payload");
  EXPECT_EQ(payload.at("sub_processor"), "mailer");
  EXPECT_EQ(payload.at("name"), "Mailer Inc.");
  EXPECT_EQ(payload.at("countries"), (json::array{"US", "IE"}));
  EXPECT_EQ(payload.at("change"), "added");
  EXPECT_EQ(payload.at("effective_at").as_string(),
            FormatRfc3339(h.clock.now + days(31)));
  EXPECT_TRUE(Notices("other", other_key).empty());

  // The same id again is a change: now into eu, so "other" is told too.
  h.clock.now += std::chrono::seconds(1);
  auto changed =
      Call("POST", "/v1/sub-processors", operator_key, Entry("[\"eu\"]"));
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(json::parse(changed.body).at("change"), "changed");
  ASSERT_EQ(Notices("other", other_key).size(), 1u);
  EXPECT_EQ(Notices("other", other_key)[0].at("payload").at("change"),
            "changed");
  EXPECT_EQ(Notices("acme", admin_key).size(), 2u);
  ASSERT_EQ(Listed().size(), 1u);
  EXPECT_EQ(Listed()[0].at("regions"), json::array{"eu"});
}

TEST_F(AppSubProcessorsTest, InsideTheNoticePeriodIsRefusedAndNothingChanges) {
  auto before = Stores();
  auto r = Call("POST", "/v1/sub-processors", operator_key,
                Entry("[\"us\"]", days(30) - std::chrono::seconds(1)));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Error(r), (std::pair<std::string, std::string>{"validation_failed",
                                                           "effective_at"}));
  EXPECT_EQ(Stores(), before);
  EXPECT_TRUE(Listed().empty());
  EXPECT_TRUE(Notices("acme", admin_key).empty());
}

TEST_F(AppSubProcessorsTest, TheLocationsReportListsTheOnesTouchingItsRegions) {
  ASSERT_EQ(Call("POST", "/v1/sub-processors", operator_key, Entry("[\"us\"]"))
                .status,
            201);
  auto r = Call("GET", "/v1/tenants/acme/locations", admin_key);
  ASSERT_EQ(r.status, 200) << r.body;
  auto listed = json::parse(r.body).at("sub_processors").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("id"), "mailer");
  EXPECT_EQ(listed[0].at("name"), "Mailer Inc.");
  EXPECT_EQ(listed[0].at("countries"), (json::array{"US", "IE"}));
  auto other = Call("GET", "/v1/tenants/other/locations", other_key);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_TRUE(json::parse(other.body).at("sub_processors").as_array().empty());

  // Removed: no longer listed, and the tenants are told.
  h.clock.now += std::chrono::seconds(1);
  EXPECT_EQ(Call("DELETE", "/v1/sub-processors/mailer", operator_key).status,
            204);
  r = Call("GET", "/v1/tenants/acme/locations", admin_key);
  EXPECT_TRUE(json::parse(r.body).at("sub_processors").as_array().empty());
  EXPECT_EQ(Notices("acme", admin_key).back().at("payload").at("change"),
            "removed");
  EXPECT_TRUE(Listed()[0].as_object().contains("removed_at"));
}

TEST_F(AppSubProcessorsTest, ObjectionsAreListedToOperatorAdmin) {
  ASSERT_EQ(Call("POST", "/v1/sub-processors", operator_key, Entry("[\"us\"]"))
                .status,
            201);
  auto o = Call("POST", "/v1/tenants/acme/sub-processors/mailer/objections",
                admin_key, R"({"reason":"not covered by our DPA"})");
  ASSERT_EQ(o.status, 201) << o.body;
  auto bad = Call("POST", "/v1/tenants/acme/sub-processors/mailer/objections",
                  admin_key, "{\"reason\":\"a\\u202eb\"}");
  EXPECT_EQ(Error(bad), (std::pair<std::string, std::string>{
                            "validation_failed", "reason"}));
  EXPECT_EQ(Call("POST", "/v1/tenants/acme/sub-processors/nobody/objections",
                 admin_key, R"({"reason":"x"})")
                .status,
            404);

  auto r = Call("GET", "/v1/sub-processors/mailer/objections", operator_key);
  ASSERT_EQ(r.status, 200) << r.body;
  auto listed = json::parse(r.body).at("objections").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("tenant"), "acme");
  EXPECT_EQ(listed[0].at("reason"), "not covered by our DPA");
  EXPECT_EQ(listed[0].at("by").as_string(), IdOf(admin_key));
  // Another tenant's admin sees neither the list nor can object for acme.
  EXPECT_EQ(
      Call("GET", "/v1/sub-processors/mailer/objections", admin_key).status,
      403);
  EXPECT_EQ(Call("POST", "/v1/tenants/acme/sub-processors/mailer/objections",
                 other_key, R"({"reason":"x"})")
                .status,
            403);
}

// A terminating tenant still has data in its regions and is still told of
// changes: it may still object.
TEST_F(AppSubProcessorsTest, ATerminatingTenantMayStillObject) {
  ASSERT_EQ(Call("POST", "/v1/sub-processors", operator_key, Entry("[\"us\"]"))
                .status,
            201);
  ASSERT_EQ(Call("POST", "/v1/tenants/acme/terminate", admin_key).status, 200);
  auto o = Call("POST", "/v1/tenants/acme/sub-processors/mailer/objections",
                admin_key, R"({"reason":"we are leaving over this"})");
  EXPECT_EQ(o.status, 201) << o.body;
}

TEST_F(AppSubProcessorsTest, OtherRolesMayNotChangeTheRegister) {
  auto before = Stores();
  for (auto* key : {&admin_key, &app_key, &other_key}) {
    EXPECT_EQ(
        Call("POST", "/v1/sub-processors", *key, Entry("[\"us\"]")).status,
        403);
    EXPECT_EQ(Call("DELETE", "/v1/sub-processors/mailer", *key).status, 403);
  }
  EXPECT_EQ(Stores(), before);
  EXPECT_EQ(Call("GET", "/v1/sub-processors", app_key).status, 403);
}

}  // namespace
}  // namespace piivault::api
