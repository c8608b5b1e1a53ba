// The sub-processor register at service level: which tenants each change
// notifies (those with data in its regions, old and new), the notice period
// (refused inside it, with nothing written), removal, and objections.
#include "compliance/sub_processors.h"

#include <gtest/gtest.h>

#include "regional_tenants.h"

namespace piivault::vault {
namespace {

using compliance::SubProcessor;
using compliance::SubProcessorChange;
using std::chrono::days;
using testing::Dump;

class SubProcessorsTest : public testing::RegionalTenantsTest {
 protected:
  SubProcessor Entry(std::vector<std::string> regions) {
    SubProcessor s;
    s.id = "mailer";
    s.name = "Mailer Inc.";
    s.service = "e-mail delivery";
    s.purpose = "sending the tenants' messages";
    s.countries = {"US"};
    s.regions = std::move(regions);
    s.contract_reference = "DPA-2026-7";
    s.effective_at = h.clock.now + days(30);
    return s;
  }

  // The payloads of the tenant's sub-processor notices, oldest first.
  std::vector<boost::json::object> Notices(const std::string& tenant) {
    auto page = h.vault->outbox.List(tenant, "", 100);
    EXPECT_TRUE(page.has_value());
    std::vector<boost::json::object> out;
    for (auto& n : page->notifications) {
      EXPECT_EQ(n.type, compliance::NotificationType::kSubProcessorChange);
      out.push_back(n.payload);
    }
    return out;
  }

  compliance::SubProcessorService& service = h.vault->sub_processors;
};

TEST_F(SubProcessorsTest, AddingNotifiesExactlyTheTenantsWithDataInItsRegions) {
  auto put = service.Put(RequestContext(), Entry({"us"}));
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  EXPECT_EQ(put->change, SubProcessorChange::kAdded);
  EXPECT_EQ(put->notified, (std::vector<std::string>{"acme", "usco"}));
  EXPECT_TRUE(Notices("euco").empty());
  for (auto* tenant : {"acme", "usco"}) {
    auto notices = Notices(tenant);
    ASSERT_EQ(notices.size(), 1u) << tenant;
    EXPECT_EQ(notices[0].at("sub_processor"), "mailer");
    EXPECT_EQ(notices[0].at("name"), "Mailer Inc.");
    EXPECT_EQ(notices[0].at("change"), "added");
    EXPECT_EQ(notices[0].at("countries"), boost::json::array{"US"});
    EXPECT_EQ(notices[0].at("regions"), boost::json::array{"us"});
    EXPECT_EQ(notices[0].at("effective_at").as_string(),
              FormatRfc3339(h.clock.now + days(30)));
  }
}

TEST_F(SubProcessorsTest, AChangeNotifiesTheTenantsOfOldAndNewRegions) {
  ASSERT_TRUE(service.Put(RequestContext(), Entry({"us"})).has_value());
  const TimePoint created = h.clock.now;
  h.clock.now += days(1);
  auto put = service.Put(RequestContext(), Entry({"eu"}));
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  EXPECT_EQ(put->change, SubProcessorChange::kChanged);
  EXPECT_EQ(put->entry.created_at, created);
  EXPECT_EQ(put->entry.updated_at, h.clock.now);
  // usco leaves its regions, euco enters them: both are told.
  EXPECT_EQ(put->notified, (std::vector<std::string>{"acme", "euco", "usco"}));
  ASSERT_EQ(Notices("usco").size(), 2u);
  EXPECT_EQ(Notices("usco")[1].at("change"), "changed");
  ASSERT_EQ(Notices("euco").size(), 1u);
  EXPECT_EQ(Notices("euco")[0].at("regions"), boost::json::array{"eu"});
}

TEST_F(SubProcessorsTest, InsideTheNoticePeriodIsRefusedAndNothingChanges) {
  auto before = Dump(*h.control_backend);
  SubProcessor early = Entry({"us"});
  early.effective_at = h.clock.now + days(30) - std::chrono::seconds(1);
  auto put = service.Put(RequestContext(), early);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(put.error().field(), "effective_at");
  EXPECT_EQ(Dump(*h.control_backend), before);
  EXPECT_EQ(service.Get("mailer").error().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Notices("usco").empty());

  // The period is the configured one.
  service.set_notice_period(days(7));
  early.effective_at = h.clock.now + days(7);
  EXPECT_TRUE(service.Put(RequestContext(), early).has_value());
}

TEST_F(SubProcessorsTest, ACompleteEntryIsRequired) {
  auto before = Dump(*h.control_backend);
  struct Case {
    const char* field;
    std::function<void(SubProcessor&)> spoil;
  };
  for (auto& c : std::vector<Case>{
           {"id", [](SubProcessor& s) { s.id = "Mailer!"; }},
           {"name", [](SubProcessor& s) { s.name = "a\u202Eb"; }},
           {"countries", [](SubProcessor& s) { s.countries = {"usa"}; }},
           {"countries", [](SubProcessor& s) { s.countries = {}; }},
           {"regions", [](SubProcessor& s) { s.regions = {"mars"}; }},
           {"regions", [](SubProcessor& s) { s.regions = {}; }},
       }) {
    SubProcessor s = Entry({"us"});
    c.spoil(s);
    auto put = service.Put(RequestContext(), s);
    ASSERT_FALSE(put.has_value()) << c.field;
    EXPECT_EQ(put.error().field(), c.field);
  }
  EXPECT_EQ(Dump(*h.control_backend), before);
}

TEST_F(SubProcessorsTest, RemovalNotifiesOnceAndLeavesTheEntryListed) {
  ASSERT_TRUE(service.Put(RequestContext(), Entry({"us"})).has_value());
  h.clock.now += std::chrono::seconds(1);  // notices list in time order
  auto removed = service.Remove(RequestContext(), "mailer");
  ASSERT_TRUE(removed.has_value()) << removed.error().ToString();
  EXPECT_EQ(removed->notified, (std::vector<std::string>{"acme", "usco"}));
  EXPECT_EQ(Notices("usco").back().at("change"), "removed");
  EXPECT_EQ(service.Remove(RequestContext(), "mailer").error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Notices("usco").size(), 2u);
  EXPECT_EQ(service.Remove(RequestContext(), "nobody").error().code(),
            StatusCode::kNotFound);
  auto all = service.List();
  ASSERT_TRUE(all.has_value() && all->size() == 1);
  EXPECT_TRUE((*all)[0].removed_at.has_value());
  EXPECT_TRUE(service.Touching({"us"})->empty());
}

TEST_F(SubProcessorsTest, TouchingListsTheEntriesOfTheRegions) {
  ASSERT_TRUE(service.Put(RequestContext(), Entry({"us"})).has_value());
  EXPECT_EQ(service.Touching({"us"})->size(), 1u);
  EXPECT_EQ(service.Touching({"eu", "us"})->size(), 1u);
  EXPECT_TRUE(service.Touching({"eu"})->empty());
}

TEST_F(SubProcessorsTest, ObjectionsAreRecordedAndListed) {
  ASSERT_TRUE(service.Put(RequestContext(), Entry({"us"})).has_value());
  auto o = service.Object(RequestContext(), "usco", "mailer", "not in our DPA",
                          "idn_1");
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  h.clock.now += std::chrono::seconds(1);
  ASSERT_TRUE(
      service.Object(RequestContext(), "acme", "mailer", "no", "idn_2"));
  auto listed = service.Objections("mailer");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].tenant, "usco");
  EXPECT_EQ((*listed)[0].reason, "not in our DPA");
  EXPECT_EQ((*listed)[1].tenant, "acme");

  EXPECT_EQ(service.Object(RequestContext(), "usco", "mailer", "", "idn_1")
                .error()
                .field(),
            "reason");
  EXPECT_EQ(service.Object(RequestContext(), "usco", "nobody", "x", "idn_1")
                .error()
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace piivault::vault
