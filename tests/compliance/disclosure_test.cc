// Legal disclosure requests at service level: the state machine and its
// refusals (nothing changed), the four-eyes rule shared with the lockbox,
// and the tenant's notice: at approval, or under a gag order exactly once
// when the scheduler runs at nondisclosure_until, also after a restart.
#include "compliance/disclosure.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using compliance::DisclosureRecord;
using compliance::DisclosureRequest;
using compliance::DisclosureService;
using compliance::DisclosureState;
using compliance::InstrumentType;
using compliance::NotificationType;
using std::chrono::hours;
using std::chrono::seconds;
using testing::Peek;
using testing::VaultHarness;

class DisclosureServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_TRUE(h.vault->collections
                    .Put(RequestContext(), "acme", "people",
                         {{"email", FieldType::kEmail, false, false}}, "")
                    .has_value());
    legal1 = Legal("legal one");
    legal2 = Legal("legal two");
  }
  Identity Legal(const char* name) {
    auto made = h.vault->identities.Create(RequestContext(), name,
                                           Role::kOperatorLegal, "");
    EXPECT_TRUE(made.has_value());
    return made ? made->identity : Identity{};
  }
  DisclosureService::NewRequest Binding(
      std::optional<TimePoint> gag = std::nullopt) {
    DisclosureService::NewRequest r;
    r.authority.name = "District Court";
    r.instrument = {InstrumentType::kCourtOrder, "2026-CV-17", "DE", true};
    r.scope.principals = {"Ann"};
    r.nondisclosure_until = gag;
    return r;
  }
  DisclosureRequest Create(DisclosureService::NewRequest r) {
    auto made = service().Create(RequestContext(), tenant, legal1, r);
    EXPECT_TRUE(made.has_value()) << made.error().ToString();
    return made.value_or(DisclosureRequest{});
  }
  DisclosureService& service() { return h.vault->disclosures; }
  // The tenant's disclosure notices.
  std::vector<compliance::Notification> Notices() {
    auto page = h.vault->outbox.List("acme", "", 100);
    EXPECT_TRUE(page.has_value());
    std::vector<compliance::Notification> out;
    for (auto& n : page->notifications)
      if (n.type == NotificationType::kDisclosure) out.push_back(n);
    return out;
  }
  std::string Stored(const std::string& id) {
    return Peek(*h.control_backend, keys::Disclosure(id));
  }

  VaultHarness h;
  Tenant tenant;
  Identity legal1, legal2;
};

TEST_F(DisclosureServiceTest, CreateRecordsTheInstrumentAndAnExplicitScope) {
  DisclosureRequest r = Create(Binding());
  EXPECT_EQ(r.state, DisclosureState::kReceived);
  EXPECT_EQ(r.scope.collections, std::vector<std::string>{"*"});
  auto got = service().Get(r.id);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->instrument.reference, "2026-CV-17");
  EXPECT_EQ(got->instrument.type, InstrumentType::kCourtOrder);
  EXPECT_TRUE(got->instrument.legally_binding);
  EXPECT_EQ(got->scope.principals, std::vector<std::string>{"Ann"});
  // Stored sealed: neither the principal id nor the reference in clear.
  EXPECT_EQ(Stored(r.id).find("Ann"), std::string::npos);
  EXPECT_EQ(Stored(r.id).find("2026-CV-17"), std::string::npos);
}

TEST_F(DisclosureServiceTest, CreateRefusesBadInput) {
  struct Bad {
    std::function<void(DisclosureService::NewRequest&)> spoil;
    std::string field;
  };
  for (const Bad& bad : std::vector<Bad>{
           {[](auto& r) { r.scope.principals.clear(); }, "scope"},
           {[](auto& r) { r.scope.principals = {"*"}; }, "scope"},
           {[](auto& r) { r.scope.collections = {"nope"}; }, "scope"},
           {[](auto& r) { r.authority.name = "Court\u202e"; }, "authority"},
           {[](auto& r) { r.authority.public_key = "short"; }, "authority"},
           {[](auto& r) { r.instrument.reference = ""; },
            "instrument.reference"},
           {[this](auto& r) { r.nondisclosure_until = h.clock.now; },
            "nondisclosure_until"}}) {
    auto r = Binding();
    bad.spoil(r);
    auto made = service().Create(RequestContext(), tenant, legal1, r);
    ASSERT_FALSE(made.has_value()) << bad.field;
    EXPECT_EQ(made.error().field(), bad.field);
  }
  auto all = service().List();
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->empty());
}

TEST_F(DisclosureServiceTest, SelfApprovalAndNonBindingAreRefusedUnchanged) {
  DisclosureRequest r = Create(Binding());
  std::string before = Stored(r.id);
  auto self = service().Approve(RequestContext(), r.id, legal1);
  ASSERT_FALSE(self.has_value());
  EXPECT_EQ(self.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Stored(r.id), before);

  auto loose = Binding();
  loose.instrument.legally_binding = false;
  DisclosureRequest nb = Create(loose);
  std::string nb_before = Stored(nb.id);
  auto refused = service().Approve(RequestContext(), nb.id, legal2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Stored(nb.id), nb_before);
  EXPECT_TRUE(Notices().empty());
}

TEST_F(DisclosureServiceTest, FulfilOnlyOnceAndOnlyAfterApproval) {
  DisclosureRequest r = Create(Binding());
  auto early = service().Fulfil(RequestContext(), r.id, DisclosureRecord{});
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service().Approve(RequestContext(), r.id, legal2).has_value());
  DisclosureRecord record{h.clock.now, legal2.id, false, {{"ps", {"r1"}, {}}}};
  auto done = service().Fulfil(RequestContext(), r.id, record);
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_EQ(done->state, DisclosureState::kFulfilled);
  auto again = service().Fulfil(RequestContext(), r.id, record);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kFailedPrecondition);
  auto got = service().Get(r.id);
  ASSERT_TRUE(got.has_value() && got->record.has_value());
  EXPECT_EQ(got->record->principals.at(0).records,
            std::vector<std::string>{"r1"});
}

TEST_F(DisclosureServiceTest, RejectedIsFinal) {
  DisclosureRequest r = Create(Binding());
  auto rejected =
      service().Reject(RequestContext(), r.id, legal2, "not our data");
  ASSERT_TRUE(rejected.has_value()) << rejected.error().ToString();
  auto approve = service().Approve(RequestContext(), r.id, legal2);
  ASSERT_FALSE(approve.has_value());
  EXPECT_EQ(approve.error().code(), StatusCode::kFailedPrecondition);
}

TEST_F(DisclosureServiceTest, WithoutAGagOrderTheTenantIsToldAtApproval) {
  DisclosureRequest r = Create(Binding());
  EXPECT_TRUE(Notices().empty());
  auto approved = service().Approve(RequestContext(), r.id, legal2);
  ASSERT_TRUE(approved.has_value()) << approved.error().ToString();
  auto notices = Notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].payload.at("disclosure_request").as_string(), r.id);
  EXPECT_TRUE(approved->VisibleToTenantAt(h.clock.now));
  // No personal data in the notice.
  EXPECT_EQ(boost::json::serialize(notices[0].payload).find("Ann"),
            std::string::npos);
}

TEST_F(DisclosureServiceTest, AGagOrderDefersTheOneNoticeToItsEnd) {
  const TimePoint gag = h.clock.now + hours(72);
  DisclosureRequest r = Create(Binding(gag));
  auto approved = service().Approve(RequestContext(), r.id, legal2);
  ASSERT_TRUE(approved.has_value()) << approved.error().ToString();
  EXPECT_TRUE(Notices().empty());
  EXPECT_FALSE(approved->VisibleToTenantAt(gag - seconds(1)));

  // The job is due exactly at the end of the period.
  auto job = h.vault->scheduler.Get("disclosure-notice-" + r.id);
  ASSERT_TRUE(job.has_value()) << job.error().ToString();
  EXPECT_EQ(job->due_at, gag);

  h.clock.now = gag - seconds(1);
  auto early = h.vault->scheduler.RunDue(h.clock.now);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->completed, 0);
  EXPECT_TRUE(Notices().empty());

  h.clock.now = gag;
  auto ran = h.vault->scheduler.RunDue(h.clock.now);
  ASSERT_TRUE(ran.has_value());
  EXPECT_EQ(ran->completed, 1);
  EXPECT_EQ(Notices().size(), 1u);
  EXPECT_TRUE(approved->VisibleToTenantAt(gag));

  // The handler run again (a takeover after a crash) adds nothing.
  ASSERT_TRUE(service().NotifyTenant(RequestContext(), r.id).ok());
  EXPECT_EQ(Notices().size(), 1u);
}

TEST_F(DisclosureServiceTest, TheHandlerNeverTellsBeforeTheEnd) {
  const TimePoint gag = h.clock.now + hours(1);
  DisclosureRequest r = Create(Binding(gag));
  ASSERT_TRUE(service().Approve(RequestContext(), r.id, legal2).has_value());
  Status early = service().NotifyTenant(RequestContext(), r.id);
  EXPECT_EQ(early.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Notices().empty());
}

TEST_F(DisclosureServiceTest, TheDeferredNoticeSurvivesARestart) {
  const TimePoint gag = h.clock.now + hours(72);
  DisclosureRequest r = Create(Binding(gag));
  ASSERT_TRUE(service().Approve(RequestContext(), r.id, legal2).has_value());
  // The node goes away; a new one over the same stores runs the job.
  h.vault.reset();
  h.vault = std::make_unique<services::Vault>(h.router.get(), h.keyring.get(),
                                              &h.clock);
  h.clock.now = gag;
  auto ran = h.vault->scheduler.RunDue(h.clock.now);
  ASSERT_TRUE(ran.has_value());
  EXPECT_EQ(ran->completed, 1);
  EXPECT_EQ(Notices().size(), 1u);
  auto again = h.vault->scheduler.RunDue(h.clock.now + hours(1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->completed, 0);
  EXPECT_EQ(Notices().size(), 1u);
}

}  // namespace
}  // namespace piivault::vault
