// The incident register over HTTP: a breach reaches exactly the affected
// tenants (named, or with data in the named regions) once notified, each
// with a deadline of detected_at plus the configured deadline, overdue by
// the clock until notified; notify twice tells nobody twice; closed
// incidents stay listed; other roles are refused.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using std::chrono::hours;

class AppIncidentsTest : public testing::AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    other_key = OtherTenantAdminKey();  // "other", region eu only
    auto security = h.vault->identities.Create(
        vault::RequestContext(), "sec", vault::Role::kOperatorSecurity, "");
    ASSERT_TRUE(security.has_value());
    security_key = security->api_key;
    usco_key = TenantAdminKey("usco", "us");
  }

  // Registers a breach detected an hour ago affecting `affected` (JSON);
  // the incident.
  json::object Create(const std::string& affected) {
    auto r =
        Call("POST", "/v1/incidents", security_key,
             R"({"title":"Bucket exposed","description":"public 2h",)"
             R"("pii_breach":true,"detected_at":")" +
                 FormatRfc3339(detected) + R"(","affected":)" + affected + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).as_object();
  }

  json::object Notify(const json::object& incident) {
    auto r = Call("POST",
                  "/v1/incidents/" +
                      std::string(incident.at("id").as_string()) + "/notify",
                  security_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }

  json::object Get(const json::object& incident) {
    auto r = Call("GET",
                  "/v1/incidents/" + std::string(incident.at("id").as_string()),
                  operator_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }

  // The incident notices in `tenant`'s inbox.
  std::size_t Notices(const std::string& tenant, const std::string& key) {
    auto r = Call("GET", "/v1/tenants/" + tenant + "/notifications", key);
    EXPECT_EQ(r.status, 200) << r.body;
    std::size_t n = 0;
    auto doc = json::parse(r.body);
    for (auto& item : doc.at("notifications").as_array())
      n += item.at("type") == "incident";
    return n;
  }

  static std::vector<std::string> Tenants(const json::object& incident) {
    std::vector<std::string> out;
    for (auto& n : incident.at("notifications").as_array())
      out.emplace_back(n.at("tenant").as_string());
    return out;
  }

  std::string other_key, security_key, usco_key;
  TimePoint detected = h.clock.now - hours(1);
};

TEST_F(AppIncidentsTest, NamedTenantsAloneAreNotified) {
  auto incident = Create(R"({"tenants":["usco"]})");
  EXPECT_EQ(Tenants(incident), std::vector<std::string>{"usco"});
  EXPECT_EQ(Notices("usco", usco_key), 0u);  // not before notify
  Notify(incident);
  EXPECT_EQ(Notices("usco", usco_key), 1u);
  EXPECT_EQ(Notices("acme", admin_key), 0u);
  EXPECT_EQ(Notices("other", other_key), 0u);
}

TEST_F(AppIncidentsTest, ARegionsTenantsAreNotified) {
  auto incident = Create(R"({"regions":["eu"]})");
  EXPECT_EQ(Tenants(incident), (std::vector<std::string>{"acme", "other"}));
  Notify(incident);
  EXPECT_EQ(Notices("acme", admin_key), 1u);
  EXPECT_EQ(Notices("other", other_key), 1u);
  EXPECT_EQ(Notices("usco", usco_key), 0u);
}

TEST_F(AppIncidentsTest, TheDeadlineIsComputedAndOverdueFollowsTheClock) {
  h.vault->incidents.set_notice_deadline(hours(24));  // the config's
  auto incident = Create(R"({"tenants":["acme"]})");
  const std::string deadline = FormatRfc3339(detected + hours(24));
  EXPECT_EQ(incident.at("deadline").as_string(), deadline);
  auto& notice = incident.at("notifications").as_array().at(0);
  EXPECT_EQ(notice.at("deadline").as_string(), deadline);
  EXPECT_EQ(notice.at("state"), "pending");
  EXPECT_EQ(notice.at("overdue"), false);

  h.clock.now = detected + hours(24);  // at the deadline: not yet overdue
  EXPECT_EQ(Get(incident).at("overdue"), false);
  h.clock.now += std::chrono::seconds(1);
  auto late = Get(incident);
  EXPECT_EQ(late.at("overdue"), true);
  EXPECT_EQ(late.at("notifications").as_array()[0].at("overdue"), true);

  auto notified = Notify(incident);
  EXPECT_EQ(notified.at("overdue"), false);
  auto& sent = notified.at("notifications").as_array()[0];
  EXPECT_EQ(sent.at("state"), "notified");
  EXPECT_EQ(sent.at("overdue"), false);
  EXPECT_EQ(sent.at("notified_at").as_string(), FormatRfc3339(h.clock.now));
  h.clock.now += hours(100);
  EXPECT_EQ(Get(incident).at("overdue"), false);
}

TEST_F(AppIncidentsTest, NotifyTwiceNotifiesOnce) {
  auto incident = Create(R"({"tenants":["acme"],"regions":["us"]})");
  EXPECT_EQ(Tenants(incident), (std::vector<std::string>{"acme", "usco"}));
  Notify(incident);
  h.clock.now += std::chrono::seconds(1);
  auto again = Notify(incident);
  EXPECT_EQ(Notices("acme", admin_key), 1u);
  EXPECT_EQ(Notices("usco", usco_key), 1u);
  EXPECT_EQ(again.at("updates").as_array().size(), 1u);
}

TEST_F(AppIncidentsTest, ClosedIncidentsStayListed) {
  auto incident = Create(R"({"tenants":["acme"]})");
  const std::string path =
      "/v1/incidents/" + std::string(incident.at("id").as_string());
  auto noted =
      Call("POST", path + "/updates", security_key, R"({"note":"contained"})");
  ASSERT_EQ(noted.status, 200) << noted.body;
  auto closed =
      Call("POST", path + "/updates", security_key, R"({"state":"closed"})");
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(json::parse(closed.body).at("state"), "closed");
  EXPECT_EQ(
      Call("POST", path + "/updates", security_key, R"({"state":"closed"})")
          .status,
      409);
  EXPECT_EQ(
      Error(
          Call("POST", path + "/updates", security_key, R"({"state":"open"})")),
      (std::pair<std::string, std::string>{"validation_failed", "state"}));
  auto r = Call("GET", "/v1/incidents", operator_key);
  ASSERT_EQ(r.status, 200) << r.body;
  auto listed = json::parse(r.body).at("incidents").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("state"), "closed");
  auto& timeline = listed[0].at("updates").as_array();
  ASSERT_EQ(timeline.size(), 2u);
  EXPECT_EQ(timeline[0].at("note"), "contained");
  EXPECT_EQ(timeline[1].at("state"), "closed");
}

TEST_F(AppIncidentsTest, BadIncidentsAndOtherRolesAreRefused) {
  auto before = Stores();
  const std::string body =
      R"({"title":"t","description":"d","pii_breach":true,)"
      R"("detected_at":"2026-01-01T00:00:00Z","affected":{"tenants":["acme"]}})";
  for (auto* key : {&operator_key, &admin_key, &app_key})
    EXPECT_EQ(Call("POST", "/v1/incidents", *key, body).status, 403);
  EXPECT_EQ(Call("GET", "/v1/incidents", admin_key).status, 403);
  auto future = Call("POST", "/v1/incidents", security_key,
                     R"({"title":"t","description":"d","pii_breach":true,)"
                     R"("detected_at":"2099-01-01T00:00:00Z",)"
                     R"("affected":{"tenants":["acme"]}})");
  EXPECT_EQ(Error(future), (std::pair<std::string, std::string>{
                               "validation_failed", "detected_at"}));
  auto nobody = Call("POST", "/v1/incidents", security_key,
                     R"({"title":"t","description":"d","pii_breach":true,)"
                     R"("detected_at":"2026-01-01T00:00:00Z","affected":{}})");
  EXPECT_EQ(Error(nobody), (std::pair<std::string, std::string>{
                               "validation_failed", "affected"}));
  EXPECT_EQ(Stores(), before);
}

}  // namespace
}  // namespace piivault::api
