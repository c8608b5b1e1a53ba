// Lockbox requests at service level: their state over time (StateAt), and
// scopes that are always explicit, an empty list covering nothing.
#include "vault/lockbox.h"

#include <gtest/gtest.h>

#include "vault_fixture.h"

namespace piivault::vault {
namespace {

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
  EXPECT_EQ(r.StateAt(t0), "pending");
  EXPECT_EQ(r.StateAt(t0 + hours(23) + std::chrono::minutes(59)), "pending");
  EXPECT_EQ(r.StateAt(t0 + LockboxService::kDecisionWindow - seconds(1)),
            "pending");
  EXPECT_EQ(r.StateAt(t0 + LockboxService::kDecisionWindow), "expired");
  EXPECT_EQ(r.StateAt(t0 + hours(25)), "expired");
  EXPECT_FALSE(r.ExpiresAt().has_value());
}

TEST(LockboxStateTest, ApprovedUntilItsDurationSinceApprovalHasPassed) {
  LockboxRequest r = Made(t0);
  r.decision = "approved";
  r.decided_at = t0 + hours(1);
  ASSERT_EQ(r.ExpiresAt(), t0 + hours(3));
  EXPECT_EQ(r.StateAt(t0 + hours(1)), "approved");
  EXPECT_EQ(r.StateAt(t0 + hours(3) - seconds(1)), "approved");
  EXPECT_EQ(r.StateAt(t0 + hours(3)), "expired");  // at expiry: expired
  EXPECT_EQ(r.StateAt(t0 + hours(4)), "expired");
  // Approval, not creation, starts the clock: past the pending window it
  // still runs its full duration.
  r.decided_at = t0 + hours(23);
  EXPECT_EQ(r.StateAt(t0 + hours(24) + seconds(1)), "approved");
  EXPECT_EQ(r.StateAt(t0 + hours(25)), "expired");
}

TEST(LockboxStateTest, DeniedStaysDenied) {
  LockboxRequest r = Made(t0);
  r.decision = "denied";
  r.decided_at = t0 + hours(1);
  for (auto at : {t0, t0 + hours(1), t0 + hours(2), t0 + hours(48)})
    EXPECT_EQ(r.StateAt(at), "denied");
  EXPECT_FALSE(r.ExpiresAt().has_value());
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

}  // namespace
}  // namespace piivault::vault
