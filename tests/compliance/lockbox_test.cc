// Lockbox requests at service level: their state over time (StateAt), and
// scopes that are always explicit, an empty list covering nothing.
#include "compliance/lockbox.h"

#include <gtest/gtest.h>

#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using compliance::LockboxDecision;
using compliance::LockboxDecisionName;
using compliance::LockboxRequest;
using compliance::LockboxScope;
using compliance::LockboxService;
using compliance::LockboxState;
using compliance::LockboxStateName;
using compliance::ParseLockboxDecision;

using std::chrono::hours;
using std::chrono::seconds;
using testing::VaultHarness;

// A request created at `t0`, for two hours.
LockboxRequest Made(TimePoint t0) {
  LockboxRequest r;
  r.id = "lbx_1";
  r.duration = hours(2);
  r.created_at = t0;
  return r;
}

const TimePoint t0 = FromUnixMicros(1'800'000'000'000'000);

TEST(LockboxStateTest, PendingUntilTheDecisionWindowCloses) {
  LockboxRequest r = Made(t0);
  EXPECT_EQ(r.StateAt(t0), LockboxState::kPending);
  EXPECT_EQ(r.StateAt(t0 + hours(23) + std::chrono::minutes(59)),
            LockboxState::kPending);
  EXPECT_EQ(r.StateAt(t0 + LockboxService::kDecisionWindow - seconds(1)),
            LockboxState::kPending);
  EXPECT_EQ(r.StateAt(t0 + LockboxService::kDecisionWindow),
            LockboxState::kExpired);
  EXPECT_EQ(r.StateAt(t0 + hours(25)), LockboxState::kExpired);
  EXPECT_FALSE(r.ExpiresAt().has_value());
}

TEST(LockboxStateTest, ApprovedUntilItsDurationSinceApprovalHasPassed) {
  LockboxRequest r = Made(t0);
  r.decision = LockboxDecision::kApproved;
  r.decided_at = t0 + hours(1);
  ASSERT_EQ(r.ExpiresAt(), t0 + hours(3));
  EXPECT_EQ(r.StateAt(t0 + hours(1)), LockboxState::kApproved);
  EXPECT_EQ(r.StateAt(t0 + hours(3) - seconds(1)), LockboxState::kApproved);
  EXPECT_EQ(r.StateAt(t0 + hours(3)),
            LockboxState::kExpired);  // at expiry: expired
  EXPECT_EQ(r.StateAt(t0 + hours(4)), LockboxState::kExpired);
  // Approval, not creation, starts the clock: past the pending window it
  // still runs its full duration.
  r.decided_at = t0 + hours(23);
  EXPECT_EQ(r.StateAt(t0 + hours(24) + seconds(1)), LockboxState::kApproved);
  EXPECT_EQ(r.StateAt(t0 + hours(25)), LockboxState::kExpired);
}

TEST(LockboxStateTest, DeniedStaysDenied) {
  LockboxRequest r = Made(t0);
  r.decision = LockboxDecision::kDenied;
  r.decided_at = t0 + hours(1);
  for (auto at : {t0, t0 + hours(1), t0 + hours(2), t0 + hours(48)})
    EXPECT_EQ(r.StateAt(at), LockboxState::kDenied);
  EXPECT_FALSE(r.ExpiresAt().has_value());
}

// The names are the API's (state) and the stored documents' (decision):
// they must not change with the enums.
TEST(LockboxStateTest, NamesAreTheContractStrings) {
  EXPECT_EQ(LockboxStateName(LockboxState::kPending), "pending");
  EXPECT_EQ(LockboxStateName(LockboxState::kApproved), "approved");
  EXPECT_EQ(LockboxStateName(LockboxState::kDenied), "denied");
  EXPECT_EQ(LockboxStateName(LockboxState::kExpired), "expired");
  for (auto [decision, name] :
       {std::pair{LockboxDecision::kNone, ""},
        std::pair{LockboxDecision::kApproved, "approved"},
        std::pair{LockboxDecision::kDenied, "denied"}}) {
    EXPECT_EQ(LockboxDecisionName(decision), name);
    EXPECT_EQ(ParseLockboxDecision(name), decision);
  }
  EXPECT_FALSE(ParseLockboxDecision("pending").has_value());
  EXPECT_FALSE(ParseLockboxDecision("Approved").has_value());
}

TEST(LockboxScopeTest, AnEmptyListCoversNothing) {
  LockboxScope nothing;  // as stored before scopes were explicit
  EXPECT_FALSE(nothing.Covers("people"));
  EXPECT_FALSE(nothing.CoversPrincipal("Ann"));
  LockboxScope named{{"people"}, {"Ann"}};
  EXPECT_TRUE(named.Covers("people"));
  EXPECT_FALSE(named.Covers("orders"));
  EXPECT_TRUE(named.CoversPrincipal("Ann"));
  EXPECT_FALSE(named.CoversPrincipal("Bob"));
  LockboxScope all{{"*"}, {"*"}};
  EXPECT_TRUE(all.Covers("orders"));
  EXPECT_TRUE(all.CoversPrincipal("Bob"));
  LockboxScope no_principals{{"*"}, {}};
  EXPECT_TRUE(no_principals.Covers("people"));
  EXPECT_FALSE(no_principals.CoversPrincipal("Ann"));
}

class LockboxServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_TRUE(h.vault->collections
                    .Put(vault::RequestContext(), "acme", "people",
                         {{"email", FieldType::kEmail, false, false}}, "")
                    .has_value());
    auto op = h.vault->identities.Create(vault::RequestContext(), "op",
                                         Role::kOperatorAdmin, "");
    ASSERT_TRUE(op.has_value());
    requester = op->identity;
  }
  Result<LockboxRequest> Create(LockboxScope scope) {
    return h.vault->lockbox.Create(vault::RequestContext(), tenant, requester,
                                   "ticket 4711", std::move(scope), "PT2H");
  }

  VaultHarness h;
  Tenant tenant;
  Identity requester;
};

TEST_F(LockboxServiceTest, AScopeThatNamesNothingIsRefused) {
  auto r = Create({});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.error().reason(), "");  // invalid_argument, not a field's
  auto listed = h.vault->lockbox.List("acme");
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
}

TEST_F(LockboxServiceTest, TheStoredScopeIsExplicit) {
  auto people = Create({{"people"}, {}});
  ASSERT_TRUE(people.has_value()) << people.error().ToString();
  EXPECT_EQ(people->scope.collections, std::vector<std::string>{"people"});
  EXPECT_EQ(people->scope.principals, std::vector<std::string>{"*"});

  auto ann = Create({{}, {"Ann"}});
  ASSERT_TRUE(ann.has_value()) << ann.error().ToString();
  EXPECT_EQ(ann->scope.collections, std::vector<std::string>{"*"});
  EXPECT_EQ(ann->scope.principals, std::vector<std::string>{"Ann"});

  auto stored =
      h.vault->lockbox.Get(vault::RequestContext(), "acme", people->id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->scope.principals, std::vector<std::string>{"*"});

  for (LockboxScope bad : {LockboxScope{{"*", "people"}, {}},
                           LockboxScope{{"people"}, {"Ann", "*"}}}) {
    auto r = Create(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().field(), "scope");
  }
}

TEST_F(LockboxServiceTest, TheDecisionIsStoredByName) {
  auto r = Create({{"people"}, {}});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  auto stored_decision = [&] {
    auto doc =
        h.vault->control.Get(RequestContext(), keys::Lockbox("acme", r->id));
    EXPECT_TRUE(doc.has_value() && doc->has_value());
    return std::string(doc.value().value().at("decision").as_string());
  };
  EXPECT_EQ(stored_decision(), "");
  Identity admin;
  admin.id = "id_admin";
  auto approved =
      h.vault->lockbox.Decide(RequestContext(), tenant, r->id, admin, true);
  ASSERT_TRUE(approved.has_value()) << approved.error().ToString();
  EXPECT_EQ(stored_decision(), "approved");
  auto again =
      h.vault->lockbox.Decide(RequestContext(), tenant, r->id, admin, true);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().message(), "the lockbox request is already approved");
  ASSERT_TRUE(
      h.vault->lockbox.Decide(RequestContext(), tenant, r->id, admin, false));
  EXPECT_EQ(stored_decision(), "denied");
  auto got = h.vault->lockbox.Get(RequestContext(), "acme", r->id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->decision, LockboxDecision::kDenied);
  EXPECT_EQ(got->StateAt(h.clock.now), LockboxState::kDenied);
}

}  // namespace
}  // namespace piivault::vault
