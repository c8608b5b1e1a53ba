// GET /v1/tenants/{t}/notifications: the tenant's inbox of notices from the
// outbox (compliance/outbox.h), oldest first, paged, its own only.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using compliance::NotificationType;

class AppNotificationsTest : public testing::AppTest {
 protected:
  // Writes a notice as a state change would: in its batch.
  std::string Notify(const std::string& tenant, NotificationType type,
                     json::object payload) {
    storage::WriteBatch batch;
    auto n = h.vault->outbox.Add(batch, tenant, type, std::move(payload));
    EXPECT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());
    return n.id;
  }

  json::object List(const std::string& query = "") {
    auto r = Call("GET", "/v1/tenants/acme/notifications" + query, admin_key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }
};

TEST_F(AppNotificationsTest, ListsTheTenantsNoticesOldestFirstInPages) {
  EXPECT_EQ(List().at("notifications").as_array().size(), 0u);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Notify("acme", NotificationType::kIncident,
                         {{"incident", "inc_" + std::to_string(i)}}));
    h.clock.now += std::chrono::seconds(1);
  }
  Notify("other", NotificationType::kIncident, {{"incident", "inc_x"}});

  auto first = List("?limit=3");
  auto items = first.at("notifications").as_array();
  ASSERT_EQ(items.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(items[i].at("id").as_string(), ids[i]);
    EXPECT_EQ(items[i].at("type"), "incident");
    EXPECT_EQ(items[i].at("payload").at("incident").as_string(),
              "inc_" + std::to_string(i));
    EXPECT_FALSE(items[i].as_object().contains("delivered_at"));
  }
  EXPECT_EQ(first.at("next").as_string(), ids[2]);
  auto rest = List("?limit=3&after=" + ids[2]);
  ASSERT_EQ(rest.at("notifications").as_array().size(), 2u);
  EXPECT_EQ(rest.at("notifications").as_array()[1].at("id").as_string(),
            ids[4]);
  EXPECT_TRUE(rest.at("next").is_null());
}

TEST_F(AppNotificationsTest, NoticesAreWrittenOnlyWithTheirBatch) {
  storage::WriteBatch batch;
  h.vault->outbox.Add(batch, "acme", NotificationType::kSubProcessorChange,
                      {{"sub_processor", "mailer"}});
  batch.RequireAbsent("tenant/acme");  // the change it belongs to fails
  EXPECT_FALSE(h.vault->control.Write(vault::RequestContext(), batch).ok());
  EXPECT_EQ(List().at("notifications").as_array().size(), 0u);
}

TEST_F(AppNotificationsTest, ABadCursorIsRefused) {
  auto r = Call("GET", "/v1/tenants/acme/notifications?after=nope", admin_key);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("invalid_argument"), std::string::npos);
}

}  // namespace
}  // namespace piivault::api
