// The incident register at service level: the affected tenants (named, or
// with data in the named regions), each one's deadline from detected_at and
// the configured deadline, overdue by the clock, notices sent once, and the
// timeline up to closing.
#include "compliance/incidents.h"

#include <gtest/gtest.h>

#include "regional_tenants.h"

namespace piivault::vault {
namespace {

using compliance::Incident;
using compliance::IncidentService;
using compliance::IncidentState;
using std::chrono::hours;
using testing::Dump;

class IncidentsTest : public testing::RegionalTenantsTest {
 protected:
  IncidentService::NewIncident Breach(std::vector<std::string> tenants,
                                      std::vector<std::string> regions) {
    return {"Backup bucket exposed",
            "A storage bucket was public for 2h",
            detected,
            true,
            std::move(tenants),
            std::move(regions)};
  }

  static std::vector<std::string> Tenants(const Incident& i) {
    std::vector<std::string> out;
    for (auto& n : i.notices) out.push_back(n.tenant);
    return out;
  }

  std::size_t NoticesOf(const std::string& tenant) {
    auto page = h.vault->outbox.List(tenant, "", 100);
    EXPECT_TRUE(page.has_value());
    for (auto& n : page->notifications)
      EXPECT_EQ(n.type, compliance::NotificationType::kIncident);
    return page ? page->notifications.size() : 0;
  }

  IncidentService& service = h.vault->incidents;
  TimePoint detected = h.clock.now - hours(2);
};

TEST_F(IncidentsTest, AffectedTenantsAreTheNamedOnesAndThoseInTheRegions) {
  auto named = service.Create(RequestContext(), Breach({"euco"}, {}), "idn_s");
  ASSERT_TRUE(named.has_value()) << named.error().ToString();
  EXPECT_EQ(Tenants(*named), std::vector<std::string>{"euco"});

  auto by_region =
      service.Create(RequestContext(), Breach({}, {"us"}), "idn_s");
  ASSERT_TRUE(by_region.has_value());
  EXPECT_EQ(Tenants(*by_region), (std::vector<std::string>{"acme", "usco"}));

  auto both =
      service.Create(RequestContext(), Breach({"euco", "acme"}, {"us"}), "s");
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(Tenants(*both), (std::vector<std::string>{"acme", "euco", "usco"}));
  // Nobody is told before notify.
  for (auto* t : {"acme", "euco", "usco"}) EXPECT_EQ(NoticesOf(t), 0u) << t;
}

TEST_F(IncidentsTest, TheDeadlineIsDetectionPlusTheConfiguredDeadline) {
  auto i = service.Create(RequestContext(), Breach({"euco"}, {}), "s");
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(i->Deadline(), detected + hours(72));
  service.set_notice_deadline(hours(24));
  i = service.Create(RequestContext(), Breach({"euco"}, {}), "s");
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(i->Deadline(), detected + hours(24));
  EXPECT_EQ(i->notices.at(0).deadline, detected + hours(24));
}

TEST_F(IncidentsTest, OverdueOncePendingPastTheDeadlineAndNotAfterNotify) {
  auto created = service.Create(RequestContext(), Breach({"euco"}, {}), "s");
  ASSERT_TRUE(created.has_value());
  const auto& notice = created->notices.at(0);
  const TimePoint deadline = detected + hours(72);
  EXPECT_FALSE(notice.OverdueAt(deadline));
  EXPECT_TRUE(notice.OverdueAt(deadline + std::chrono::seconds(1)));

  h.clock.now = deadline + hours(1);
  auto notified = service.Notify(RequestContext(), created->id, "s");
  ASSERT_TRUE(notified.has_value()) << notified.error().ToString();
  ASSERT_TRUE(notified->notices.at(0).notified_at.has_value());
  EXPECT_FALSE(notified->notices.at(0).OverdueAt(h.clock.now + hours(100)));
}

TEST_F(IncidentsTest, NotifyTellsEachAffectedTenantOnce) {
  auto i = service.Create(RequestContext(), Breach({}, {"us"}), "s");
  ASSERT_TRUE(i.has_value());
  auto first = service.Notify(RequestContext(), i->id, "s");
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  auto before = Dump(*h.control_backend);
  auto second = service.Notify(RequestContext(), i->id, "s");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Dump(*h.control_backend), before);  // nothing written
  EXPECT_EQ(NoticesOf("acme"), 1u);
  EXPECT_EQ(NoticesOf("usco"), 1u);
  EXPECT_EQ(NoticesOf("euco"), 0u);
  auto page = h.vault->outbox.List("usco", "", 10);
  ASSERT_TRUE(page.has_value());
  auto& payload = page->notifications.at(0).payload;
  EXPECT_EQ(payload.at("incident").as_string(), i->id);
  EXPECT_EQ(payload.at("pii_breach"), true);
  EXPECT_EQ(payload.at("detected_at").as_string(), FormatRfc3339(detected));
  EXPECT_EQ(second->notices.at(1).notification, page->notifications.at(0).id);
  ASSERT_EQ(second->updates.size(), 1u);  // one "notified" entry
}

TEST_F(IncidentsTest, TheTimelineKeepsNotesAndClosedIncidentsStayListed) {
  auto i = service.Create(RequestContext(), Breach({"euco"}, {}), "s");
  ASSERT_TRUE(i.has_value());
  ASSERT_TRUE(service.Update(RequestContext(), i->id, "contained", false, "s"));
  auto closed = service.Update(RequestContext(), i->id, "", true, "s");
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->state, IncidentState::kClosed);
  EXPECT_EQ(closed->closed_at, h.clock.now);
  ASSERT_EQ(closed->updates.size(), 2u);
  EXPECT_EQ(closed->updates[0].note, "contained");
  EXPECT_EQ(closed->updates[1].state, IncidentState::kClosed);
  EXPECT_EQ(
      service.Update(RequestContext(), i->id, "", true, "s").error().code(),
      StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      service.Update(RequestContext(), i->id, "", false, "s").error().field(),
      "note");
  auto page = service.List("", 10);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->incidents.size(), 1u);
  EXPECT_EQ(page->incidents[0].state, IncidentState::kClosed);
}

TEST_F(IncidentsTest, BadIncidentsAreRefusedAndNothingIsWritten) {
  auto before = Dump(*h.control_backend);
  auto future = Breach({"euco"}, {});
  future.detected_at = h.clock.now + hours(1);
  struct Case {
    const char* field;
    IncidentService::NewIncident in;
  };
  auto untitled = Breach({"euco"}, {});
  untitled.title = "";
  for (auto& c : std::vector<Case>{
           {"detected_at", future},
           {"title", untitled},
           {"affected", Breach({}, {})},
           {"affected", Breach({"nobody"}, {})},
           {"affected", Breach({}, {"mars"})},
       }) {
    auto r = service.Create(RequestContext(), c.in, "s");
    ASSERT_FALSE(r.has_value()) << c.field;
    EXPECT_EQ(r.error().field(), c.field);
  }
  EXPECT_EQ(Dump(*h.control_backend), before);
  EXPECT_EQ(service.Get("inc_nope").error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace piivault::vault
